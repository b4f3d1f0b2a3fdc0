-- POST one new entry per request, as a tablet does; args: token cap salt observed_at sections(comma-separated)
package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
require("common")

local salt, observed_at, sections, n = "", "", {}, 0

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  wrk.method = "POST"
  expected = 201
  cap = tonumber(args[2])
  salt, observed_at = args[3], args[4]
  for code in string.gmatch(args[5], "[^,]+") do table.insert(sections, code) end
end

function request()
  n = n + 1
  local body = string.format(
    '{"client_id": "wrk-%s-%d-%d", "section": "%s", "team": null, "criterion": "safety", "item": "S1", ' ..
    '"kind": "deduction", "points": 1.5, "observed_at": "%s", "note": "未戴安全帽", "location": null}',
    salt, tid, n, sections[n % #sections + 1], observed_at)
  return wrk.format(nil, nil, nil, body)
end
