-- POST one new entry per request, as a tablet does, naming one of the section's teams;
-- args: token (or -) cap salt observed_at sections(comma-separated)
package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
require("common")

local salt, observed_at, sections, n = "", "", {}, 0

function init(args)
  if args[1] ~= "-" then wrk.headers["Authorization"] = "Bearer " .. args[1] end
  wrk.headers["Content-Type"] = "application/json"
  wrk.method = "POST"
  expected = 201
  cap = tonumber(args[2])
  salt, observed_at = args[3], args[4]
  for code in string.gmatch(args[5], "[^,]+") do table.insert(sections, code) end
end

function request()
  n = n + 1
  local section = sections[n % #sections + 1]
  local body = string.format(
    '{"client_id": "wrk-%s-%d-%d", "section": "%s", "team": "T%s-%d", "criterion": "safety", "item": "S1", ' ..
    '"kind": "deduction", "points": 1.5, "observed_at": "%s", "note": "未戴安全帽", "location": null}',
    salt, tid, n, section, string.sub(section, 2), n % 3 + 1, observed_at)
  return wrk.format(nil, nil, nil, body)
end
