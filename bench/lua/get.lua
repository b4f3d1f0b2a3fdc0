-- GET (or an empty-bodied POST) with a bearer token; args: token expected-status cap [if-none-match] [method]
package.path = package.path .. ";" .. os.getenv("BENCH_LUA_DIR") .. "/?.lua"
require("common")

function init(args)
  if args[1] ~= "-" then wrk.headers["Authorization"] = "Bearer " .. args[1] end
  expected = tonumber(args[2])
  cap = tonumber(args[3])
  if args[4] and args[4] ~= "-" then wrk.headers["If-None-Match"] = args[4] end
  if args[5] == "POST" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = "{}"
  end
end
