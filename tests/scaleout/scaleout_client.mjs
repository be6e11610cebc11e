// The pinned TypeScript MCP clients (tests/interop/node's package-lock.json) as clients of
// three ssemcp replicas behind nginx round-robin (tests/scaleout).
//
// Run from tests/interop/node, so that its node_modules resolve:
//   node --input-type=module --eval "$(cat scaleout_client.mjs)" <mode> <base-url> <token>
//   mode: "streamable": @modelcontextprotocol/sdk 1.32.2, StreamableHTTPClientTransport, a
//                       2025-11-25 session on <base-url>/mcp;
//         "sse":        the same SDK's SSEClientTransport (2024-11-05) on <base-url>/sse;
//         "modern":     @modelcontextprotocol/client 2.4.0 with versionNegotiation auto:
//                       2026-07-28 requests, no session, on <base-url>/mcp.
//
// Calls whoami six times, count with progress, ask_model (sampling: a request to the client,
// or over 2026-07-28 a multi round-trip request), and in a session subscribes to
// scaleout://watched, calls touch until its POSTs have reached every replica and awaits a
// notifications/resources/updated for each. Every HTTP
// exchange is recorded with the replica nginx says answered it (x-served-by). Prints ONE
// JSON object; test_scaleout_typescript_clients.py judges it. Anything unexpected exits non-zero,
// with a record whose "ok" is false.

import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport as StreamableV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableV2 } from "@modelcontextprotocol/client";

const REQUEST_TIMEOUT_MSEC = 30_000;
const NOTIFICATION_DEADLINE_MSEC = 10_000;
const WATCHED = "scaleout://watched";
const WHOAMI_CALLS = 6;

const [mode, baseUrl, token] = process.argv.slice(1).filter((argument) => argument !== "--");
if (!["streamable", "sse", "modern"].includes(mode) || !baseUrl || !token) {
  process.stderr.write("usage: scaleout_client.mjs <streamable|sse|modern> <base-url> <token>\n");
  process.exit(2);
}

const record = { ok: false, mode };
const httpRequests = [];
const clientErrors = [];
const samplingRequests = [];
const updates = [];

// Sends the token and notes which replica answered each exchange.
async function recordingFetch(input, init) {
  const headers = new Headers(init?.headers);
  headers.set("authorization", `Bearer ${token}`);
  let rpcMethod = null;
  let tool = null;
  if (typeof init?.body === "string") {
    const message = JSON.parse(init.body);
    rpcMethod = message.method ?? (message.result !== undefined ? "(result)" : null);
    tool = rpcMethod === "tools/call" ? (message.params?.name ?? null) : null;
  }
  const response = await fetch(input, { ...init, headers });
  httpRequests.push({
    method: init?.method ?? "GET",
    rpcMethod,
    tool,
    status: response.status,
    servedBy: response.headers.get("x-served-by"),
  });
  return response;
}

let updateArrived;
const updateArrival = new Promise((resolve) => {
  updateArrived = resolve;
});

function deadline(promise, what) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no ${what} within ${NOTIFICATION_DEADLINE_MSEC} ms`)),
      NOTIFICATION_DEADLINE_MSEC,
    );
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

// Resolves once `count` touch POSTs have had their HTTP answer (polled: the answers are
// recorded by recordingFetch, which knows nothing of who waits).
async function touchPostsAnswered(count) {
  const until = Date.now() + NOTIFICATION_DEADLINE_MSEC;
  while (httpRequests.filter((request) => request.tool === "touch").length < count) {
    if (Date.now() > until) {
      throw new Error(`no answer to touch POST ${count} within ${NOTIFICATION_DEADLINE_MSEC} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sampled = {
  role: "assistant",
  content: { type: "text", text: "Paris" },
  model: "ts-fake-model",
  stopReason: "endTurn",
};

let client;
let transport;
if (mode === "modern") {
  client = new ClientV2(
    { name: "ssemcp-scaleout-ts-modern", version: "0.0.0" },
    { capabilities: { sampling: {} }, versionNegotiation: { mode: "auto" } },
  );
  client.setRequestHandler("sampling/createMessage", (request) => {
    samplingRequests.push(request.params);
    return sampled;
  });
  transport = new StreamableV2(new URL(`${baseUrl}/mcp`), { fetch: recordingFetch });
} else {
  client = new ClientV1(
    { name: `ssemcp-scaleout-ts-${mode}`, version: "0.0.0" },
    { capabilities: { sampling: {} } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, (request) => {
    samplingRequests.push(request.params);
    return sampled;
  });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    updates.push(notification.params);
    updateArrived();
  });
  transport =
    mode === "sse"
      ? new SSEClientTransport(new URL(`${baseUrl}/sse`), { fetch: recordingFetch })
      : new StreamableV1(new URL(`${baseUrl}/mcp`), { fetch: recordingFetch });
}
client.onerror = (error) => {
  clientErrors.push(String(error));
};

const options = { timeout: REQUEST_TIMEOUT_MSEC };

function textOf(result) {
  return result.content.map((block) => block.text).join("");
}

async function call(name, args, extra = {}) {
  const params = { name, arguments: args };
  const callOptions = { ...options, ...extra };
  // v1's callTool takes a result schema before the options; v2's takes the options second.
  const result =
    mode === "modern"
      ? await client.callTool(params, callOptions)
      : await client.callTool(params, undefined, callOptions);
  return textOf(result);
}

let exitCode = 1;
try {
  await client.connect(transport, options);
  record.protocolVersion =
    mode === "modern" ? client.getNegotiatedProtocolVersion() : (transport.protocolVersion ?? null);
  record.sessionId = transport.sessionId ?? null;
  record.whoami = [];
  for (let index = 0; index < WHOAMI_CALLS; index += 1) {
    record.whoami.push(await call("whoami", {}));
  }
  const progress = [];
  record.count = await call("count", { steps: 3 }, { onprogress: (p) => progress.push(p) });
  record.progress = progress;
  record.askModel = await call("ask_model", { prompt: "Capital of France?" });
  record.samplingRequests = samplingRequests;
  if (mode !== "modern") {
    await client.subscribeResource({ uri: WATCHED }, options);
    record.touchedBy = [];
    record.touchPostedTo = [];
    // Touches until their POSTs have reached each replica (other requests may come between,
    // so three are not always enough): one notification each, wherever the stream is held.
    while (new Set(record.touchPostedTo).size < 3) {
      if (record.touchedBy.length >= 12) {
        throw new Error(`touch never reached every replica: ${record.touchPostedTo}`);
      }
      record.touchedBy.push(await call("touch", { uri: WATCHED }));
      // Over legacy SSE the result comes on the stream, and the POST's own 202 may come after
      // it (a POST landing on another replica waits for the stream's holder to take it).
      await touchPostsAnswered(record.touchedBy.length);
      record.touchPostedTo = httpRequests
        .filter((request) => request.tool === "touch")
        .map((request) => request.servedBy);
    }
    await deadline(updateArrival, "notifications/resources/updated");
    const until = Date.now() + NOTIFICATION_DEADLINE_MSEC;
    while (updates.length < record.touchedBy.length && Date.now() < until) {
      await client.ping(options);
    }
    await client.unsubscribeResource({ uri: WATCHED }, options);
    record.updates = updates;
  }
  if (transport.sessionId && typeof transport.terminateSession === "function") {
    await transport.terminateSession();
  }
  record.ok = true;
  exitCode = 0;
} catch (error) {
  record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  record.stack = error instanceof Error ? error.stack : null;
} finally {
  record.httpRequests = httpRequests;
  record.clientErrors = clientErrors;
  await client.close();
}
process.stdout.write(`${JSON.stringify(record)}\n`);
process.exitCode = exitCode;
