// The pinned TypeScript MCP SDK (package-lock.json) as a client of an ssemcp stdio server.
//
// Usage: node stdio_client.mjs <builtin|fixture> <command> [args...]
//
// Spawns <command> with StdioClientTransport, runs the scenario for that server (list and
// call every tool, read resources and templates, prompts; for the fixture also progress,
// logging, sampling, elicitation and roots), and prints ONE JSON object recording what it
// saw. It asserts little itself: test_typescript_sdk_stdio.py judges the record. Expected
// protocol errors are recorded; anything else unexpected exits non-zero, with a record whose
// "ok" is false.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";

const REQUEST_TIMEOUT_MSEC = 30_000;

const [scenario, command, ...args] = process.argv.slice(2);
if (!["builtin", "fixture"].includes(scenario) || !command) {
  process.stderr.write("usage: node stdio_client.mjs <builtin|fixture> <command> [args...]\n");
  process.exit(2);
}

const record = { ok: false, scenario };
const logs = [];
const wireProgress = [];
const clientErrors = [];
const samplingRequests = [];
const elicitationRequests = [];
let rootsRequests = 0;

const client = new Client(
  { name: "ssemcp-interop-ts", version: "0.0.0" },
  {
    capabilities: {
      sampling: {},
      elicitation: { form: {} },
      roots: { listChanged: true },
    },
  },
);

client.onerror = (error) => {
  clientErrors.push(String(error));
};
client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
  logs.push(notification.params);
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
  return { action: "accept", content: { name: "Grace", count: 2 } };
});
client.setRequestHandler(ListRootsRequestSchema, () => {
  rootsRequests += 1;
  return { roots: [{ uri: "file:///tmp/ts-project", name: "ts-project" }] };
});

const options = { timeout: REQUEST_TIMEOUT_MSEC };

// A call whose failure is part of the scenario: record {code, message} instead of throwing.
async function expectError(promise) {
  try {
    const result = await promise;
    return { unexpectedResult: result };
  } catch (error) {
    if (error instanceof McpError) {
      return { code: error.code, message: error.message };
    }
    throw error;
  }
}

async function call(name, args, extra = {}) {
  return client.callTool({ name, arguments: args }, undefined, { ...options, ...extra });
}

function describeTools(tools) {
  return tools.map((tool) => ({
    name: tool.name,
    title: tool.title ?? null,
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema ?? null,
    annotations: tool.annotations ?? null,
  }));
}

async function builtinScenario() {
  const tools = await client.listTools(undefined, options);
  record.tools = describeTools(tools.tools);
  record.calls = {
    echo: await call("echo", { message: "héllo 🌍" }),
    timeDefault: await call("current_time", {}),
    timeParis: await call("current_time", { timezone: "Europe/Paris" }),
    timeUnknown: await call("current_time", { timezone: "Mars/Olympus_Mons" }),
    calculate: await call("calculate", { expression: "2*(3+4)" }),
    divideByZero: await call("calculate", { expression: "1/0" }),
    echoMissingArgument: await call("echo", {}),
  };
  record.templates = (await client.listResourceTemplates(undefined, options)).resourceTemplates;
  record.reads = {
    greeting: await client.readResource({ uri: "greeting://Ada" }, options),
  };
  record.errors = {
    unknownTool: await expectError(call("no_such_tool", {})),
    unknownResource: await expectError(client.readResource({ uri: "nothing://here" }, options)),
  };
}

async function fixtureScenario() {
  const tools = await client.listTools(undefined, options);
  record.tools = describeTools(tools.tools);

  // What onprogress delivers, and what was on the wire. SDK 1.32.2 runs notification
  // handlers a microtask late but responses at once, so progress read in the same chunk as
  // the response finds its handler gone (typescript-sdk issue #2580); the pauses keep the
  // steps in chunks of their own, and the wire record shows what the server really sent.
  const progress = [];
  const longTask = await call(
    "long_task",
    { steps: 4, pause_seconds: 0.05 },
    { onprogress: (p) => progress.push(p) },
  );
  record.progress = progress;
  record.wireProgress = wireProgress;

  await client.setLoggingLevel("info", options);
  const logLevelsInfo = await call("log_levels", {});
  await client.setLoggingLevel("error", options);
  const logLevelsError = await call("log_levels", {});
  // Notifications are handled in arrival order; a ping after them flushes any stragglers.
  await client.ping(options);
  record.logs = logs;

  record.calls = {
    longTask,
    logLevelsInfo,
    logLevelsError,
    askModel: await call("ask_model", { prompt: "Capital of France?" }),
    askUser: await call("ask_user", {}),
    clientRoots: await call("client_roots", {}),
    weather: await call("weather", { city: "Oslo" }),
    statistics: await call("statistics", { numbers: [2, 4, 9] }),
    add: await call("add", { a: 40, b: 2 }),
    addMissingB: await call("add", { a: 1 }),
    picture: await call("picture", {}),
    fail: await call("fail", { message: "kaput" }),
    noisy: await call("noisy", { message: "printed by a tool" }),
  };
  record.samplingRequests = samplingRequests;
  record.elicitationRequests = elicitationRequests;
  record.rootsRequests = rootsRequests;

  record.prompts = (await client.listPrompts(undefined, options)).prompts;
  record.promptGets = {
    reviewRust: await client.getPrompt(
      { name: "review", arguments: { code: "fn main() {}", language: "rust" } },
      options,
    ),
    reviewDefault: await client.getPrompt({ name: "review", arguments: { code: "x = 1" } }, options),
    conversation: await client.getPrompt(
      { name: "conversation", arguments: { topic: "tea" } },
      options,
    ),
  };

  record.resources = (await client.listResources(undefined, options)).resources;
  record.templates = (await client.listResourceTemplates(undefined, options)).resourceTemplates;
  record.reads = {
    static: await client.readResource({ uri: "fixture://static" }, options),
    blob: await client.readResource({ uri: "fixture://blob" }, options),
    item: await client.readResource({ uri: "fixture://items/42" }, options),
  };

  record.errors = {
    unknownTool: await expectError(call("definitely_not_a_tool", {})),
    promptMissingArgument: await expectError(
      client.getPrompt({ name: "review", arguments: { language: "go" } }, options),
    ),
    unknownResource: await expectError(client.readResource({ uri: "fixture://nope" }, options)),
  };
}

const transport = new StdioClientTransport({ command, args, stderr: "inherit" });
// The SDK hands the negotiated version to transports that want it (HTTP sends it as a
// header); stdio has no use for it, so this hook exists only to record it.
let negotiatedVersion = null;
transport.setProtocolVersion = (version) => {
  negotiatedVersion = version;
};
let exitCode = 1;
try {
  await client.connect(transport, options);
  record.protocolVersion = negotiatedVersion;
  record.serverInfo = client.getServerVersion();
  record.serverCapabilities = client.getServerCapabilities();
  record.instructions = client.getInstructions() ?? null;
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (message.method === "notifications/progress") {
      wireProgress.push(message.params);
    }
    deliver(message, extra);
  };
  await (scenario === "builtin" ? builtinScenario() : fixtureScenario());
  record.clientErrors = clientErrors;
  record.ok = true;
  exitCode = 0;
} catch (error) {
  record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  record.stack = error instanceof Error ? error.stack : null;
} finally {
  await client.close();
}
process.stdout.write(`${JSON.stringify(record)}\n`);
process.exitCode = exitCode;
