// The peer of the load benchmarks (bench/references.py): node's oidc-provider issuing ES256 JWT
// access tokens for client_credentials (RFC 6749 §4.4) to one resource (RFC 8707), from memory.
//
//   node server.mjs PORT
//
// Listens on 127.0.0.1:PORT. The client is "bench-client" with the secret "bench-secret"
// (client_secret_post); the resource is "urn:i18n-connect:bench"; the scope "org:read".
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node server.mjs PORT');
  process.exit(2);
}

const RESOURCE = 'urn:i18n-connect:bench';
const SCOPE = 'org:read';
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'bench-client',
      client_secret: 'bench-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [signingKey] },
  scopes: [SCOPE],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== RESOURCE) throw new Error(`unknown resource ${resource}`);
        return {
          scope: SCOPE,
          audience: RESOURCE,
          accessTokenTTL: 1800,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
