// The MCP TypeScript SDK client, given only the MCP URL: 401 → discovery → registration →
// authorize (the test plays the person) → token with resource → tools → a tool refused for
// scope → step-up with the challenged scope → refresh after the access token expired.
// Usage: node mcp-client.mjs <mcp url>
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  auth,
  extractWWWAuthenticateParams,
  UnauthorizedError,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { ask, main, send } from './io.mjs';

const mcpUrl = new URL(process.argv[2]);
const redirectUrl = 'http://127.0.0.1:53683/callback';

class Provider {
  constructor() {
    this.saved = {};
    this.lastRedirect = undefined;
  }
  get redirectUrl() {
    return redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: 'MCP TypeScript SDK interop',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(client) {
    this.saved.client = client;
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens) {
    this.saved.tokens = tokens;
  }
  async redirectToAuthorization(url) {
    const reply = await ask({ event: 'authorize', url: url.toString() });
    this.lastRedirect = new URL(reply.redirect);
  }
  saveCodeVerifier(verifier) {
    this.saved.verifier = verifier;
  }
  codeVerifier() {
    return this.saved.verifier;
  }
}

const provider = new Provider();
let lastChallenge;

// Records the last insufficient_scope challenge the server sent.
async function recordingFetch(url, init) {
  const response = await fetch(url, init);
  if (response.status === 403) lastChallenge = extractWWWAuthenticateParams(response);
  return response;
}

async function connect() {
  const options = { authProvider: provider, fetch: recordingFetch };
  const client = new Client({ name: 'i18n-connect-interop', version: '1.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(mcpUrl, options));
    return client;
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  const pending = new StreamableHTTPClientTransport(mcpUrl, options);
  await pending.finishAuth(provider.lastRedirect.searchParams.get('code'));
  const connected = new Client({ name: 'i18n-connect-interop', version: '1.0.0' });
  await connected.connect(new StreamableHTTPClientTransport(mcpUrl, options));
  return connected;
}

main(async () => {
  let client = await connect();
  const tools = await client.listTools();
  send({ event: 'tools', names: tools.tools.map((tool) => tool.name) });
  const keys = await client.callTool({ name: 'listKeys', arguments: { project: 'web' } });
  send({ event: 'listKeys', result: keys.structuredContent, isError: keys.isError ?? false });
  const firstScope = provider.saved.tokens.scope;

  let refused = null;
  try {
    await client.callTool({ name: 'publishTranslations', arguments: { project: 'web' } });
  } catch (error) {
    refused = String(error.message ?? error);
  }
  send({ event: 'refused', message: refused, challenge: lastChallenge ?? null });

  // Step up: authorize again for the scope the server named (held plus needed).
  provider.saved.tokens = undefined;
  const options = {
    serverUrl: mcpUrl,
    scope: lastChallenge.scope,
    resourceMetadataUrl: lastChallenge.resourceMetadataUrl,
  };
  const started = await auth(provider, options);
  const code = provider.lastRedirect.searchParams.get('code');
  const finished = await auth(provider, { ...options, authorizationCode: code });
  await client.close();
  client = await connect();
  const published = await client.callTool({
    name: 'publishTranslations',
    arguments: { project: 'web' },
  });
  send({
    event: 'stepped-up',
    started,
    finished,
    scope: provider.saved.tokens.scope,
    firstScope,
    result: published.structuredContent,
  });

  // Time passes beyond the access token's life; the SDK refreshes on the 401.
  const before = provider.saved.tokens;
  await ask({ event: 'expire' });
  const after = await client.callTool({
    name: 'getTranslations',
    arguments: { project: 'web', language: 'de' },
  });
  send({
    event: 'refreshed',
    isError: after.isError ?? false,
    newAccessToken: provider.saved.tokens.access_token !== before.access_token,
    newRefreshToken: provider.saved.tokens.refresh_token !== before.refresh_token,
  });
  await client.close();
  send({ event: 'done' });
});
