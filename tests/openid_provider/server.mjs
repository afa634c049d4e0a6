// A real OpenID provider for the tests: panva's oidc-provider (certified by the OpenID
// Foundation) on loopback, with its development login and consent forms.
//
// The test suite starts it with one JSON object in OP_CONFIG:
//   port      where to listen (issuer http://127.0.0.1:<port>)
//   jwks      the private signing keys (JWK Set), made by the tests so that they can also sign
//             tokens the provider never issued (expired, other audience...)
//   clients   client metadata (client_id, client_secret, redirect_uris, ...)
//   accounts  per login typed into the form: the claims of that account; a login that is not
//             listed gets sub = login, email = login, email_verified = true
//   conformIdTokenClaims  false (default here): the ID token carries email and profile claims;
//             true: only sub and the like, the rest from userinfo
// It prints "listening <issuer>" once it serves.
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OP_CONFIG);
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = config.accounts ?? {};

function claimsOf(login) {
  return { sub: login, email: login, email_verified: true, ...(accounts[login] ?? {}) };
}

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: config.jwks,
  conformIdTokenClaims: config.conformIdTokenClaims ?? false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
  },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  ttl: { IdToken: config.idTokenSeconds ?? 3600 },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => claimsOf(id),
  }),
});
provider.proxy = false;

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
