// Minting a sealtrail upload credential in a Node backend with `jose`
// (docs/protocol.md, "Credentials"). The backend has authenticated the user;
// the browser module asks for one credential per chain.
//
//   node collector/examples/mint-credential.mjs SIGNING_KEY.pem USER SESSION ROLE CHAIN [TTL_SECONDS]
//
// SIGNING_KEY.pem is the Ed25519 PKCS#8 key of
// `sealtrail-collector keygen --signing-key FILE --verifying-key FILE`; the
// collector runs with `--credential-key` naming the verifying key.
import { readFileSync } from 'node:fs';
import { SignJWT, importPKCS8 } from 'jose';

/** The credential for `chain`, written by `user` in login `session` as `role`. */
export async function mintCredential(signingKeyPem, { user, session, role, chain, ttlSeconds = 8 * 3600 }) {
  const key = await importPKCS8(signingKeyPem, 'EdDSA');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sid: session, role, chain })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setSubject(user)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(key);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [keyFile, user, session, role, chain, ttl] = process.argv.slice(2);
  if (!chain) {
    console.error('usage: mint-credential.mjs SIGNING_KEY.pem USER SESSION ROLE CHAIN [TTL_SECONDS]');
    process.exit(2);
  }
  const ttlSeconds = ttl ? Number(ttl) : undefined;
  console.log(await mintCredential(readFileSync(keyFile, 'utf8'), { user, session, role, chain, ttlSeconds }));
}
