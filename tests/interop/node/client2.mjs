// The pinned v2 TypeScript MCP client (@modelcontextprotocol/client, package-lock.json) as a
// client of ssemcp, over Streamable HTTP or stdio, in the negotiation mode the test asks for.
//
// Usage: node client2.mjs '<command as JSON>'
//   {
//     "transport": "http", "url": "http://HOST:PORT/mcp"
//       | "stdio", "command": "...", "args": ["..."],
//     "versionNegotiation": {"mode": "auto"} | null (the client's default: legacy),
//     "elicitation": <ElicitResult the handler answers> | null (no capability, no handler),
//     "sampling": <CreateMessageResult the handler answers> | null (likewise),
//     "steps": [{"name": "...", "method": "listTools|callTool|readResource|getPrompt|...",
//                "params": {...}}, ...]
//   }
//
// Connects, runs the steps in order, closes, and prints ONE JSON object: what was negotiated
// (era, version, server identity and capabilities, the discover result), each step's result
// by name, what the handlers were asked, and over HTTP every exchange (method, Mcp-Method,
// MCP-Protocol-Version, status). It asserts nothing: test_typescript_client_2026.py judges
// the record. Anything unexpected exits non-zero, with a record whose "ok" is false.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

const REQUEST_TIMEOUT_MSEC = 30_000;
const STEP_METHODS = new Set([
  "listTools",
  "callTool",
  "listResources",
  "readResource",
  "listPrompts",
  "getPrompt",
  "ping",
]);

let command;
try {
  command = JSON.parse(process.argv[2] ?? "");
} catch {
  process.stderr.write("usage: node client2.mjs '<command as JSON>'\n");
  process.exit(2);
}

const record = { ok: false, transport: command.transport };
const clientErrors = [];
const elicitationRequests = [];
const samplingRequests = [];
const httpRequests = [];

// Notes each HTTP exchange. A POST whose params carry inputResponses is the retry of a
// request the server answered with an input_required result (2026-07-28 MRTR).
async function recordingFetch(input, init) {
  const headers = new Headers(init?.headers);
  let inputResponses = null;
  if (typeof init?.body === "string") {
    const params = JSON.parse(init.body).params ?? {};
    inputResponses = params.inputResponses ? Object.keys(params.inputResponses) : null;
  }
  const response = await fetch(input, init);
  httpRequests.push({
    method: init?.method ?? "GET",
    mcpMethod: headers.get("mcp-method"),
    protocolVersion: headers.get("mcp-protocol-version"),
    sessionId: headers.get("mcp-session-id"),
    inputResponses,
    status: response.status,
    contentType: response.headers.get("content-type"),
  });
  return response;
}

const capabilities = {};
if (command.elicitation) {
  capabilities.elicitation = { form: {} };
}
if (command.sampling) {
  capabilities.sampling = {};
}
const client = new Client(
  { name: "ssemcp-interop-ts-client2", version: "0.0.0" },
  {
    capabilities,
    ...(command.versionNegotiation ? { versionNegotiation: command.versionNegotiation } : {}),
  },
);
client.onerror = (error) => {
  clientErrors.push(String(error));
};
if (command.elicitation) {
  client.setRequestHandler("elicitation/create", (request) => {
    elicitationRequests.push(request.params);
    return command.elicitation;
  });
}
if (command.sampling) {
  client.setRequestHandler("sampling/createMessage", (request) => {
    samplingRequests.push(request.params);
    return command.sampling;
  });
}

let transport;
if (command.transport === "http") {
  transport = new StreamableHTTPClientTransport(new URL(command.url), { fetch: recordingFetch });
} else if (command.transport === "stdio") {
  transport = new StdioClientTransport({ command: command.command, args: command.args ?? [] });
} else {
  process.stderr.write(`client2.mjs: unknown transport ${JSON.stringify(command.transport)}\n`);
  process.exit(2);
}

const options = { timeout: REQUEST_TIMEOUT_MSEC };
let exitCode = 1;
try {
  await client.connect(transport, options);
  record.era = client.getProtocolEra() ?? null;
  record.protocolVersion = client.getNegotiatedProtocolVersion() ?? null;
  record.serverInfo = client.getServerVersion() ?? null;
  record.serverCapabilities = client.getServerCapabilities() ?? null;
  record.discover = client.getDiscoverResult() ?? null;
  record.sessionId = transport.sessionId ?? null;
  record.results = {};
  for (const step of command.steps ?? []) {
    if (!STEP_METHODS.has(step.method)) {
      throw new Error(`unknown step method ${JSON.stringify(step.method)}`);
    }
    record.results[step.name] = await client[step.method](step.params, options);
  }
  if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
    await transport.terminateSession();
  }
  record.ok = true;
  exitCode = 0;
} catch (error) {
  record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  record.stack = error instanceof Error ? error.stack : null;
} finally {
  record.elicitationRequests = elicitationRequests;
  record.samplingRequests = samplingRequests;
  record.httpRequests = httpRequests;
  record.clientErrors = clientErrors;
  await client.close();
}
process.stdout.write(`${JSON.stringify(record)}\n`);
process.exitCode = exitCode;
