// A consumer of the generated package, type-checked with `tsc --noEmit`
// (scripts/test-web.sh): the .d.ts must describe every call a host makes,
// with no `any`, and reject wrong calls (see the @ts-expect-error lines).
import init, {
  Sealtrail,
  type AuditEvent,
  type BreakGlassGrant,
  type BreakGlassResult,
  type HostResult,
  type JsonObject,
  type Opening,
  type SealedRecord,
  type SealtrailAlert,
  type SealtrailError,
  type SealtrailStatus,
  type Session,
} from '../../pkg/sealtrail.js';

const session: Session = {
  userId: 'u-nurse-17',
  name: 'Nia Patel',
  role: 'nurse',
  caseload: ['p-1001'],
  team: 'team-north',
  authStrength: 'password',
  authTime: '2026-11-23T08:00:00.000Z',
  expiresAt: '2026-11-23T20:00:00.000Z',
  sessionId: 's-1',
  client: 'consumer.ts',
};

export async function demo(policy: JsonObject, record: JsonObject): Promise<void> {
  await init();
  const st: Sealtrail = await Sealtrail.start({
    policy,
    session,
    endpoint: '/api',
    options: {
      batchDelayMs: 100,
      strings: { title: 'Notfallzugriff' },
      credential: async (c: string) => (await fetch(`/login/credential?chain=${c}`)).text(),
      onAlert: (a: SealtrailAlert) => console.log(a.severity, a.rule, a.summary),
      onEvent: (e: AuditEvent) => console.log(e.seq, e.action, e.outcome, e.subject?.recordId),
    },
  });
  const chain: string = st.chain;
  const sealed: SealedRecord = await st.seal(record, 'view');
  const many: SealedRecord[] = await st.sealMany([record], 'print');
  for (const d of sealed.decisions) {
    if (d.decision.type === 'seal') console.log(d.pointer, d.decision.breakGlass, d.decision.cause);
    if (d.decision.type === 'stepUp') console.log(d.decision.authStrength, d.decision.maxAgeMinutes);
  }
  const bg: BreakGlassResult = await st.breakGlass(sealed.recordId);
  if (bg.outcome === 'granted') {
    const opening: Opening = await st.reveal(sealed.recordId, '/notes/1/text', bg.grant);
    console.log(opening.value, opening.salt, opening.commitment, opening.event.seq);
  } else if (bg.outcome === 'denied') {
    console.log(bg.refusals.map((r) => `${r.pointer}: ${r.message}`));
  }
  const headless = await st.breakGlassHeadless({ recordId: 'p-1001', reasonCode: 'suicideRisk', reasonText: 'Crisis team call now' });
  console.log(headless.event.hash);
  const search: HostResult = await st.log({ type: 'search', query: 'miles', filters: { team: 'team-north' } });
  const exported: HostResult = await st.log({ type: 'export', format: 'pdf' }, record);
  if (exported.decision.type === 'stepUp') console.log('authenticate with', exported.decision.authStrength);
  const s: SealtrailStatus = await st.flush();
  const acked: (number | null)[] = s.chains.map((c) => c.ackedSeq);
  console.log(chain, many.length, search.event.seq, s.pending, s.online, s.lastError, acked, (await st.status()).head?.hash);
  try {
    await st.reveal(sealed.recordId, '/diagnoses', { ...(bg.outcome === 'granted' ? bg.grant : headlessGrant()) });
  } catch (e) {
    const err = e as SealtrailError;
    const where: string | null = err.pointer;
    if (err.code === 'grant' || err.code === 'storage-closed') console.log(err.name, err.message, where);
  }
  st.setSession({ ...session, authStrength: 'mfa' });
  st.close();

  // @ts-expect-error: an unknown action
  await st.seal(record, 'peek');
  // @ts-expect-error: a host action needs its type
  await st.log({ query: 'x' });
  // @ts-expect-error: the session needs a user id
  st.setSession({ role: 'nurse' });
}

function headlessGrant(): BreakGlassGrant {
  return { id: '0', userId: 'u', role: 'r', recordId: 'p', reasonCode: 'c', issuedAt: '', expiresAt: '', policy: '' };
}
