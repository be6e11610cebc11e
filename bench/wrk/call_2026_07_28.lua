-- Scenario f: tools/call echo as MCP 2026-07-28 sends it: no session, each request on its own.
-- wrk -s call_2026_07_28.lua URL -- MESSAGE
-- No initialize and no Mcp-Session-Id: every request carries its revision and client
-- capabilities in params._meta, and the headers that must agree with its body
-- (MCP-Protocol-Version, Mcp-Method, Mcp-Name). Ids are unique per thread, as in call.lua.
-- Every response is checked: status 200, the echoed text, no error, "resultType":"complete".
-- The summary is one line starting with BENCHJSON.

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
  table.insert(threads, thread)
end

local message, needle, counter, base
ok = 0
errors = 0
first_error = ""

function init(args)
  message = args[1]
  needle = '"text":"' .. message .. '"'
  counter = 0
  base = thread_index * 1000000000
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
  wrk.headers["Mcp-Method"] = "tools/call"
  wrk.headers["Mcp-Name"] = "echo"
end

local prefix = '{"jsonrpc":"2.0","id":'
local suffix

function request()
  counter = counter + 1
  suffix = suffix or (',"method":"tools/call","params":{"name":"echo","arguments":{"message":"'
    .. message .. '"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    .. '"io.modelcontextprotocol/clientCapabilities":{}}}}')
  return wrk.format("POST", nil, nil, prefix .. (base + counter) .. suffix)
end

function response(status, headers, body)
  if status == 200 and body:find(needle, 1, true) and body:find('"resultType":"complete"', 1, true)
      and not body:find('"isError":true', 1, true) and not body:find('"error":', 1, true) then
    ok = ok + 1
  else
    errors = errors + 1
    if first_error == "" then first_error = status .. " " .. body:sub(1, 200) end
  end
end

function done(summary, latency, requests)
  local total_ok, total_errors, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_errors = total_errors + thread:get("errors")
    local e = thread:get("first_error")
    if sample == "" and e ~= "" then sample = e end
  end
  local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    'BENCHJSON {"requests":%d,"ok":%d,"errors":%d,"socket_errors":%d,"non2xx":%d,'
    .. '"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"sample":"%s"}\n',
    summary.requests, total_ok, total_errors, socket_errors, summary.errors.status,
    summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, (sample:gsub("%c", " "):gsub('["\\]', "'"))))
end
