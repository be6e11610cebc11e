// The pinned TypeScript MCP SDK (package-lock.json) as a client of an ssemcp HTTP server
// serving the conformance fixture (tests/conformance/everything_server.py).
//
// Usage: node http_client.mjs <streamable-http|sse|streamable-http-resume> <url>
//   streamable-http: StreamableHTTPClientTransport, url = http://HOST:PORT/mcp
//   sse:             SSEClientTransport (legacy HTTP+SSE), url = http://HOST:PORT/sse
//   streamable-http-resume: StreamableHTTPClientTransport whose fetch ends the SSE response
//                    of one tools/call after its first two events, as a dropped connection
//                    would; the SDK resumes with GET + Last-Event-ID if it saw an event id.
//
// streamable-http and sse list and call tools; record progress (onprogress, and what was on
// the wire), log notifications at two levels, a sampling and an elicitation round trip, and
// notifications/resources/updated after subscribing to test://watched-resource (the test
// triggers it once it sees the subscription). streamable-http-resume records the progress
// and result of the call whose stream was cut. Prints ONE JSON object recording what it saw;
// test_typescript_sdk_http.py judges it. Anything unexpected exits non-zero, with a record
// whose "ok" is false.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const REQUEST_TIMEOUT_MSEC = 30_000;
// The call whose stream is cut: without resumption its result never comes, so fail sooner.
const RESUMED_CALL_TIMEOUT_MSEC = 15_000;
const CUT_AFTER_EVENTS = 2;
// How long to wait for a notification the test triggers (resources/updated).
const NOTIFICATION_DEADLINE_MSEC = 10_000;
const WATCHED = "test://watched-resource";

const [transportName, url] = process.argv.slice(2);
const TRANSPORTS = ["streamable-http", "sse", "streamable-http-resume"];
if (!TRANSPORTS.includes(transportName) || !url) {
  process.stderr.write(`usage: node http_client.mjs <${TRANSPORTS.join("|")}> <url>\n`);
  process.exit(2);
}

const record = { ok: false, transport: transportName };
const logs = [];
const wireProgress = [];
const clientErrors = [];
const samplingRequests = [];
const elicitationRequests = [];
const updates = [];
const httpRequests = [];

// Resolves when the standalone GET stream of a Streamable HTTP session has answered 200:
// ssemcp registers the stream before its status line, so from then on messages not tied
// to a request (resources/updated) have somewhere to go.
let getStreamOpened;
const getStreamOpen = new Promise((resolve) => {
  getStreamOpened = resolve;
});
let updateArrived;
const updateArrival = new Promise((resolve) => {
  updateArrived = resolve;
});

async function recordingFetch(input, init) {
  const method = init?.method ?? "GET";
  const lastEventId = new Headers(init?.headers).get("last-event-id");
  const response = await fetch(input, init);
  httpRequests.push({ method, status: response.status, lastEventId });
  if (method === "GET" && response.status === 200 && lastEventId === null) {
    getStreamOpened();
  }
  return response;
}

// WHATWG HTML "Parsing an event stream": CR, LF and CRLF all end a line; a blank line ends
// an event.
const EVENT_END = /\r\n\r\n|\n\n|\r\r/;
const cut = { done: false, eventsPassed: [] };

// The first POST of a test_tool_with_progress call that is answered with SSE: a body that
// ends after CUT_AFTER_EVENTS events. Everything else passes untouched.
async function cuttingFetch(input, init) {
  const response = await recordingFetch(input, init);
  const isTarget =
    !cut.done &&
    init?.method === "POST" &&
    String(init.body).includes('"test_tool_with_progress"') &&
    (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
  if (!isTarget) {
    return response;
  }
  cut.done = true;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const encoder = new TextEncoder();
  let buffered = "";
  const body = new ReadableStream({
    async pull(controller) {
      while (cut.eventsPassed.length < CUT_AFTER_EVENTS) {
        const end = EVENT_END.exec(buffered);
        if (end !== null) {
          const event = buffered.slice(0, end.index + end[0].length);
          buffered = buffered.slice(end.index + end[0].length);
          cut.eventsPassed.push(event);
          controller.enqueue(encoder.encode(event));
          return;
        }
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        buffered += value;
      }
      await reader.cancel();
      controller.close();
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
}

const client = new Client(
  { name: "ssemcp-interop-ts-http", version: "0.0.0" },
  { capabilities: { sampling: {}, elicitation: { form: {} } } },
);

client.onerror = (error) => {
  clientErrors.push(String(error));
};
client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
  logs.push(notification.params);
});
client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
  updates.push(notification.params);
  updateArrived();
});
client.setRequestHandler(CreateMessageRequestSchema, (request) => {
  samplingRequests.push(request.params);
  return {
    role: "assistant",
    content: { type: "text", text: "Paris" },
    model: "ts-fake-model",
    stopReason: "endTurn",
  };
});
client.setRequestHandler(ElicitRequestSchema, (request) => {
  elicitationRequests.push(request.params);
  return { action: "accept", content: { username: "grace", email: "grace@example.com" } };
});

const options = { timeout: REQUEST_TIMEOUT_MSEC };

async function call(name, args, extra = {}) {
  return client.callTool({ name, arguments: args }, undefined, { ...options, ...extra });
}

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

async function scenario() {
  record.tools = (await client.listTools(undefined, options)).tools.map((tool) => tool.name);
  record.calls = {
    simpleText: await call("test_simple_text", undefined),
    image: await call("test_image_content", {}),
    error: await call("test_error_handling", {}),
  };

  const progress = [];
  record.calls.progress = await call(
    "test_tool_with_progress",
    {},
    { onprogress: (p) => progress.push(p) },
  );
  record.progress = progress;
  record.wireProgress = wireProgress;

  await client.setLoggingLevel("debug", options);
  record.calls.loggingDebug = await call("test_tool_with_logging", {});
  await client.setLoggingLevel("error", options);
  record.calls.loggingError = await call("test_tool_with_logging", {});
  // Notifications are handled in arrival order; a ping after them flushes any stragglers.
  await client.ping(options);
  record.logs = logs;

  record.calls.sampling = await call("test_sampling", { prompt: "Capital of France?" });
  record.samplingRequests = samplingRequests;
  record.calls.elicitation = await call("test_elicitation", { message: "Who are you?" });
  record.elicitationRequests = elicitationRequests;

  if (transportName === "streamable-http") {
    await deadline(getStreamOpen, "GET stream");
  }
  // The test watches the server's subscriber count and sends one update once it is 1.
  record.subscribe = await client.subscribeResource({ uri: WATCHED }, options);
  await deadline(updateArrival, "notifications/resources/updated");
  record.unsubscribe = await client.unsubscribeResource({ uri: WATCHED }, options);
  await client.ping(options);
  record.updates = updates;
}

async function resumeScenario() {
  const progress = [];
  // Recorded before the call, so a failed resumption still shows what arrived.
  record.progress = progress;
  record.wireProgress = wireProgress;
  record.cutEvents = cut.eventsPassed;
  record.calls = {
    progress: await call(
      "test_tool_with_progress",
      {},
      { onprogress: (p) => progress.push(p), timeout: RESUMED_CALL_TIMEOUT_MSEC },
    ),
  };
  await client.ping(options);
}

let transport;
if (transportName === "sse") {
  transport = new SSEClientTransport(new URL(url), { fetch: recordingFetch });
} else {
  transport = new StreamableHTTPClientTransport(new URL(url), {
    fetch: transportName === "streamable-http" ? recordingFetch : cuttingFetch,
    // A quick first retry when the server sends no `retry:` of its own.
    reconnectionOptions: {
      initialReconnectionDelay: 100,
      maxReconnectionDelay: 1000,
      reconnectionDelayGrowFactor: 1.5,
      maxRetries: 2,
    },
  });
}
// The SDK hands the negotiated version to the transport, which sends it as the
// MCP-Protocol-Version header from then on; record it on the way.
let negotiatedVersion = null;
const setProtocolVersion = transport.setProtocolVersion.bind(transport);
transport.setProtocolVersion = (version) => {
  negotiatedVersion = version;
  setProtocolVersion(version);
};
let exitCode = 1;
try {
  await client.connect(transport, options);
  record.protocolVersion = negotiatedVersion;
  record.sessionId = transport.sessionId ?? null;
  record.serverInfo = client.getServerVersion();
  record.serverCapabilities = client.getServerCapabilities();
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (message.method === "notifications/progress") {
      wireProgress.push(message.params);
    }
    deliver(message, extra);
  };
  await (transportName === "streamable-http-resume" ? resumeScenario() : scenario());
  if (transport instanceof StreamableHTTPClientTransport) {
    await transport.terminateSession();
  }
  record.httpRequests = httpRequests;
  record.clientErrors = clientErrors;
  record.ok = true;
  exitCode = 0;
} catch (error) {
  record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  record.stack = error instanceof Error ? error.stack : null;
  record.httpRequests = httpRequests;
  record.clientErrors = clientErrors;
} finally {
  await client.close();
}
process.stdout.write(`${JSON.stringify(record)}\n`);
process.exitCode = exitCode;
