// The pinned TypeScript MCP SDK (package-lock.json) as a client of `ssemcp bridge` hosting
// @modelcontextprotocol/server-everything.
//
// Usage: node bridge_client.mjs <streamable-http|sse> <url>
//   streamable-http: StreamableHTTPClientTransport, url = http://HOST:PORT/mcp
//   sse:             SSEClientTransport (legacy HTTP+SSE), url = http://HOST:PORT/sse
//
// Lists tools, calls echo, a long-running operation with progress, and a sampling round
// trip; prints ONE JSON object recording what it saw (test_bridge_typescript_client.py
// judges it). Anything unexpected exits non-zero, with a record whose "ok" is false.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const REQUEST_TIMEOUT_MSEC = 30_000;
const [transportName, url] = process.argv.slice(2);
if (!["streamable-http", "sse"].includes(transportName) || !url) {
  process.stderr.write("usage: node bridge_client.mjs <streamable-http|sse> <url>\n");
  process.exit(2);
}

const record = { ok: false, transport: transportName };
const client = new Client(
  { name: "ssemcp-bridge-test", version: "1.0.0" },
  { capabilities: { sampling: {} } },
);
client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
  record.samplingPrompt = request.params.messages[0].content.text;
  return { role: "assistant", content: { type: "text", text: "from TypeScript" }, model: "fake" };
});

try {
  const transport =
    transportName === "sse"
      ? new SSEClientTransport(new URL(url))
      : new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  // What arrived, in order. The SDK hands notifications to their handlers a microtask later
  // than responses, so a progress report that shares a read with its call's result misses
  // onprogress; the wire shows whether it came first.
  record.wire = [];
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    record.wire.push(
      message.method === "notifications/progress"
        ? `progress ${message.params.progress}`
        : (message.method ?? `result ${message.id}`),
    );
    deliver(message, extra);
  };
  record.serverName = client.getServerVersion().name;
  record.protocolVersion = transport.protocolVersion ?? null;
  const options = { timeout: REQUEST_TIMEOUT_MSEC };
  const tools = await client.listTools(undefined, options);
  record.tools = tools.tools.map((tool) => tool.name).sort();
  const echoed = await client.callTool({ name: "echo", arguments: { message: "hi" } }, undefined, options);
  record.echo = echoed.content[0].text;
  const progress = [];
  const long = await client.callTool(
    { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
    undefined,
    { ...options, onprogress: (update) => progress.push(update.progress) },
  );
  record.progress = progress;
  record.longIsError = Boolean(long.isError);
  const sampled = await client.callTool(
    { name: "trigger-sampling-request", arguments: { prompt: "who?" } },
    undefined,
    options,
  );
  record.sampled = sampled.content[0].text;
  await client.close();
  record.ok = true;
} catch (error) {
  record.error = String(error?.stack ?? error);
}
process.stdout.write(JSON.stringify(record) + "\n");
process.exit(record.ok ? 0 : 1);
