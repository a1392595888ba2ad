// Rendering helpers shared by the tools: keys, key and sequence ranges,
// sizes and times, in one spelling everywhere, so an operator comparing the
// output of verify, recover and inspect sees the same key written the same
// way. JSON reports carry keys as hex (binary keys are common); human output
// shows printable ASCII keys quoted and everything else as 0x-hex.

import { isAbsolute, relative, resolve, sep } from 'node:path';

/** An inclusive range of user keys, as hex; null is an unknown (or open) end. */
export interface KeyRange {
  smallest: string | null;
  largest: string | null;
}

/** An inclusive range of sequence numbers; null is an unknown end. */
export interface SequenceRange {
  first: number | null;
  last: number | null;
}

/** Longest key shown whole in human output, bytes. */
const shownKeyBytesMax = 48;

/** The bytes redis-cli writes with a backslash escape (sdscatrepr). */
const escapes: Readonly<Record<number, string>> = { 0x5c: '\\\\', 0x22: '\\"', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x07: '\\a', 0x08: '\\b' };

/** A user key for people: "key:001" when printable ASCII, else 0x00ff0a80; long keys cut. */
export function renderKey(key: Buffer): string {
  const shown = key.subarray(0, shownKeyBytesMax);
  const text = /^[\x20-\x7e]*$/.test(shown.toString('latin1')) ? JSON.stringify(shown.toString('latin1')) : `0x${shown.toString('hex')}`;
  return key.length > shown.length ? `${text}... (${key.length} bytes)` : text;
}

/**
 * Bytes as redis-cli prints them (its sdscatrepr): in double quotes, printable ASCII as is,
 * `\\` `\"` `\n` `\r` `\t` `\a` `\b` escaped, every other byte as `\xhh`; cut after `bytesMax`.
 */
export function quoteBytes(bytes: Buffer, bytesMax = shownKeyBytesMax): string {
  const shown = bytes.subarray(0, bytesMax);
  let text = '"';
  for (const byte of shown) {
    const escape = escapes[byte];
    if (escape !== undefined) text += escape;
    else if (byte >= 0x20 && byte <= 0x7e) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  text += '"';
  return bytes.length > shown.length ? `${text}... (${bytes.length} bytes)` : text;
}

/** renderKey for a hex-encoded key. */
export function renderHexKey(hex: string | null): string {
  return hex === null ? '?' : renderKey(Buffer.from(hex, 'hex'));
}

/** `"a" .. "k"`, with ? for an unknown end. */
export function renderKeyRange(range: KeyRange | undefined): string {
  if (range === undefined) return 'keys unknown';
  if (range.smallest === null && range.largest === null) return 'keys unknown';
  return `keys ${renderHexKey(range.smallest)} .. ${renderHexKey(range.largest)}`;
}

/** `seq 12..40`, with ? for an unknown end. */
export function renderSequenceRange(range: SequenceRange | undefined): string {
  if (range === undefined || (range.first === null && range.last === null)) return 'sequences unknown';
  if (range.first === range.last) return `seq ${range.first}`;
  return `seq ${range.first ?? '?'}..${range.last ?? '?'}`;
}

/** A key range from user keys (either may be unknown). */
export function keyRange(smallest: Buffer | undefined, largest: Buffer | undefined): KeyRange {
  return { smallest: smallest === undefined ? null : smallest.toString('hex'), largest: largest === undefined ? null : largest.toString('hex') };
}

/** A sequence range (either end may be unknown). */
export function sequenceRange(first: number | undefined, last: number | undefined): SequenceRange {
  return { first: first ?? null, last: last ?? null };
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** ms since the epoch -> ISO 8601 in UTC with milliseconds ("2024-01-02T03:04:05.000Z"). */
export function formatTime(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '?';
  return new Date(ms).toISOString();
}

/** A time range "A .. B". */
export function formatTimeRange(fromMs: number | undefined | null, toMs: number | undefined | null): string {
  return `${formatTime(fromMs)} .. ${formatTime(toMs)}`;
}

/** Seconds or milliseconds for a duration. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}

/**
 * `file` relative to `dir` with "/" separators ("seg/000005.sst"). lib names
 * files either by a path built from `dir` (joinPath(dir, ...)) or by a name
 * relative to it ("CURRENT", "MANIFEST-000011"); both come out the same.
 */
export function relativeFile(dir: string, file: string): string {
  const base = dir.replace(/\/+$/, '');
  const underDir = isAbsolute(file) || file === base || file.startsWith(`${base}/`);
  const result = relative(resolve(dir), underDir ? resolve(file) : resolve(dir, file)).split(sep).join('/');
  return result === '' ? '.' : result;
}

/** "1 file", "2 files". */
export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count} ${count === 1 ? word : pluralWord}`;
}
