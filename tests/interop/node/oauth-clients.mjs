// panva's openid-client in OAuth 2 discovery mode: code + PKCE (+ resource) and a refresh;
// then oauth4webapi's validateJwtAccessToken accepts the access token for the MCP resource and
// refuses it for the partner API.
// Usage: node oauth-clients.mjs <issuer> <client id> <redirect uri> <mcp resource> <api resource>
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';
import { ask, main, send } from './io.mjs';

const [issuer, clientId, redirectUri, mcpResource, apiResource] = process.argv.slice(2);

main(async () => {
  const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'projects:read keys:read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    resource: mcpResource,
  });
  const { redirect } = await ask({ event: 'authorize', url: url.href });
  const tokens = await client.authorizationCodeGrant(
    config,
    new URL(redirect),
    { pkceCodeVerifier: verifier, expectedState: state },
    { resource: mcpResource },
  );
  send({
    event: 'tokens',
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    scope: tokens.scope,
    grant_id: tokens.grant_id,
  });
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, {
    resource: mcpResource,
  });
  send({
    event: 'refreshed',
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    grant_id: refreshed.grant_id,
  });

  const issuerUrl = new URL(issuer);
  const as = await oauth.processDiscoveryResponse(
    issuerUrl,
    await oauth.discoveryRequest(issuerUrl, {
      algorithm: 'oauth2',
      [oauth.allowInsecureRequests]: true,
    }),
  );
  const request = new Request(mcpResource, {
    headers: { authorization: `Bearer ${refreshed.access_token}` },
  });
  const claims = await oauth.validateJwtAccessToken(as, request, mcpResource, {
    [oauth.allowInsecureRequests]: true,
  });
  send({ event: 'validated', claims });
  let refusedForApi = null;
  try {
    await oauth.validateJwtAccessToken(as, request, apiResource, {
      [oauth.allowInsecureRequests]: true,
    });
  } catch (error) {
    refusedForApi = String(error.message ?? error);
  }
  send({ event: 'audience', refusedForApi });
  send({ event: 'done' });
});
