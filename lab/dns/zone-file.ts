import { CaaValue, MxValue, RecordSet, SoaValue, splitTxt, SrvValue, TxtValue } from './records';
import type { ZoneStore } from './zone-store';

/**
 * Writes a zone as an RFC 1035 master file (what BIND's `named` loads), with absolute names and a TTL
 * on every line, so a real DNS server can serve exactly what the lab serves.
 */
export function toZoneFile(store: ZoneStore, origin: string): string {
  const data = store.exportZone(origin);
  const lines = [`$ORIGIN ${data.origin}.`, `$TTL ${data.defaultTtl}`];
  for (const set of data.sets) for (const line of presentSet(set)) lines.push(line);
  return lines.join('\n') + '\n';
}

export function presentSet(set: RecordSet): string[] {
  return presentValues(set).map((rdata) => `${set.name}. ${set.ttl} IN ${set.type} ${rdata}`);
}

function presentValues(set: RecordSet): string[] {
  switch (set.type) {
    case 'A':
    case 'AAAA':
      return [...set.values];
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return set.values.map((v) => `${v}.`);
    case 'MX':
      return set.values.map((v: MxValue) => `${v.preference} ${v.exchange}.`);
    case 'TXT':
      return set.values.map((v: TxtValue) => splitTxt(v).map(quote).join(' '));
    case 'SRV':
      return set.values.map((v: SrvValue) => `${v.priority} ${v.weight} ${v.port} ${v.target}.`);
    case 'CAA':
      return set.values.map((v: CaaValue) => `${v.flags} ${v.tag} ${quote(v.value)}`);
    case 'SOA':
      return set.values.map(
        (v: SoaValue) =>
          `${v.mname}. ${v.rname}. ${v.serial} ${v.refresh} ${v.retry} ${v.expire} ${v.minimum}`,
      );
  }
}

/** A master-file character-string: quoted, `"` and `\` escaped, bytes outside printable ASCII as \DDD. */
export function quote(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte > 0x7e) out += `\\${byte.toString().padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return out + '"';
}
