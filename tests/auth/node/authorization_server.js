// A real OAuth 2.1 authorization server (oidc-provider) on 127.0.0.1, for tests/auth.
//
// Configured from the JSON in $AS_CONFIG: { "jwks": {"keys": [private JWKs]}, "port": 0,
// "clients": [{client_id, format: "jwt"|"opaque", alg}], "clientSecret", "introspector":
// {client_id, client_secret}, "scopes": [...], "accessTokenTTL": seconds }. Clients use the
// client_credentials grant with a resource indicator (RFC 8707); each client's tokens come in
// its own format (RS256 or ES256 JWTs, or opaque ones for RFC 7662 introspection). Prints
// "listening <port>" once it listens. GET /test/counts tells how often /jwks and
// /token/introspection were asked, so tests can count refetches.
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.env.AS_CONFIG);
const host = '127.0.0.1';
const counts = { jwks: 0, introspection: 0, token: 0 };

const server = http.createServer();
await new Promise((resolve) => server.listen(config.port || 0, host, resolve));
const { port } = server.address();
const issuer = `http://${host}:${port}`;

const formatOf = Object.fromEntries(config.clients.map((client) => [client.client_id, client]));

const provider = new Provider(issuer, {
  jwks: config.jwks,
  clients: [
    ...config.clients.map((client) => ({
      client_id: client.client_id,
      client_secret: config.clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: config.scopes.join(' '),
    })),
    {
      client_id: config.introspector.client_id,
      client_secret: config.introspector.client_secret,
      grant_types: [],
      redirect_uris: [],
      response_types: [],
    },
  ],
  scopes: config.scopes,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator, client) => {
        const wanted = formatOf[client.clientId] || { format: 'opaque' };
        return {
          scope: config.scopes.join(' '),
          audience: resourceIndicator,
          accessTokenTTL: config.accessTokenTTL || 300,
          accessTokenFormat: wanted.format,
          ...(wanted.format === 'jwt' ? { jwt: { sign: { alg: wanted.alg } } } : {}),
        };
      },
    },
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/test/counts') {
    ctx.body = counts;
    return;
  }
  if (ctx.path === '/jwks') counts.jwks += 1;
  if (ctx.path === '/token/introspection') counts.introspection += 1;
  if (ctx.path === '/token') counts.token += 1;
  await next();
});

server.on('request', provider.callback());
process.stdout.write(`listening ${port}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
