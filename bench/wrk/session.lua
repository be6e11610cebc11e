-- Scenario b: a session per operation: initialize, notifications/initialized, tools/call echo,
-- DELETE. Run with as many threads as connections (wrk -t32 -c32): a wrk thread's Lua state
-- is shared by its connections, and one connection per thread makes it that connection's
-- state machine (wrk asks request() for the next request only after response() saw the last).
-- wrk -s session.lua URL -- MESSAGE
-- Every response is checked: initialize 200 with an Mcp-Session-Id, initialized 202,
-- tools/call 200 with the echoed text, DELETE 200 or 204. The summary is a BENCHJSON line.

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count)
  table.insert(threads, thread)
end

local message, needle, step, session_id, counter, base
ok = 0
errors = 0
operations = 0
first_error = ""

local INITIALIZE = '{"jsonrpc":"2.0","id":%d,"method":"initialize","params":{"protocolVersion":'
  .. '"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'
local INITIALIZED = '{"jsonrpc":"2.0","method":"notifications/initialized"}'
local CALL

function init(args)
  message = args[1]
  needle = '"text":"' .. message .. '"'
  CALL = '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo",'
    .. '"arguments":{"message":"' .. message .. '"}}}'
  step = 0
  counter = 0
  base = thread_index * 1000000000
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
end

function request()
  counter = counter + 1
  if step == 0 then
    return wrk.format("POST", nil, nil, string.format(INITIALIZE, base + counter))
  end
  -- wrk.format takes these instead of wrk.headers, not on top of them.
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["Mcp-Session-Id"] = session_id,
    ["Mcp-Protocol-Version"] = "2025-11-25",
  }
  if step == 1 then
    return wrk.format("POST", nil, headers, INITIALIZED)
  elseif step == 2 then
    return wrk.format("POST", nil, headers, string.format(CALL, base + counter))
  end
  return wrk.format("DELETE", nil, headers, nil)
end

local function fail(status, body)
  errors = errors + 1
  if first_error == "" then first_error = "step " .. step .. ": " .. status .. " " .. body:sub(1, 200) end
  step = 0  -- start a new operation
end

function response(status, headers, body)
  if step == 0 then
    session_id = nil
    for name, value in pairs(headers) do
      if name:lower() == "mcp-session-id" then session_id = value end
    end
    if status ~= 200 or session_id == nil then return fail(status, body) end
  elseif step == 1 then
    if status ~= 202 then return fail(status, body) end
  elseif step == 2 then
    if status ~= 200 or not body:find(needle, 1, true) or body:find('"isError":true', 1, true)
        or body:find('"error":', 1, true) then
      return fail(status, body)
    end
  else
    if status ~= 200 and status ~= 204 then return fail(status, body) end
    operations = operations + 1
  end
  ok = ok + 1
  step = (step + 1) % 4
end

function done(summary, latency, requests)
  local total_ok, total_errors, total_operations, sample = 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_errors = total_errors + thread:get("errors")
    total_operations = total_operations + thread:get("operations")
    local e = thread:get("first_error")
    if sample == "" and e ~= "" then sample = e end
  end
  local socket_errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    'BENCHJSON {"requests":%d,"ok":%d,"errors":%d,"operations":%d,"socket_errors":%d,'
    .. '"non2xx":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
    .. '"sample":"%s"}\n',
    summary.requests, total_ok, total_errors, total_operations, socket_errors,
    summary.errors.status, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, (sample:gsub("%c", " "):gsub('["\\]', "'"))))
end
