// panva's openid-client as an RFC 8628 device: discovery, initiateDeviceAuthorization,
// pollDeviceAuthorizationGrant (it waits the interval and handles authorization_pending and
// slow_down itself) and a refresh; then a second request that the person denies.
// Usage: node device-flow.mjs <issuer> <client id>
import * as client from 'openid-client';
import { ask, main, send } from './io.mjs';

const [issuer, clientId] = process.argv.slice(2);

main(async () => {
  const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests],
  });
  const started = await client.initiateDeviceAuthorization(config, {
    scope: 'projects:read keys:read',
  });
  await ask({ event: 'device', answer: 'authorize', ...started });
  const tokens = await client.pollDeviceAuthorizationGrant(config, started);
  send({
    event: 'tokens',
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    scope: tokens.scope,
    grant_id: tokens.grant_id,
    has_refresh_token: typeof tokens.refresh_token === 'string',
  });
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  send({
    event: 'refreshed',
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    grant_id: refreshed.grant_id,
  });

  const second = await client.initiateDeviceAuthorization(config, { scope: 'projects:read' });
  await ask({ event: 'device', answer: 'deny', ...second });
  let denied = null;
  try {
    await client.pollDeviceAuthorizationGrant(config, second);
  } catch (error) {
    denied = { error: error.error, status: error.status };
  }
  send({ event: 'denied', ...denied });
  send({ event: 'done' });
});
