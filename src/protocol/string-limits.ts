// What a Kafka string can carry, and how client text is quoted so that a response stays
// within it. Kafka's codec refuses any string field over 32,767 bytes of UTF-8, in every
// version: classic strings have an int16 length, and Kafka's generated code checks compact
// strings against the same 0x7fff. A request's string can still decode longer here: each
// byte that is not UTF-8 decodes to U+FFFD, three bytes when it is encoded again, and
// compact lengths go past it: the reader refuses such a string (protocol/reader.ts). Error
// messages that quote client text (a topic name, a config value) quote an excerpt, so that
// they fit whatever the text was.

import { limits } from '../config/limits.js';

/** The most UTF-8 bytes a Kafka string field holds (Kafka's 0x7fff, in every version). */
export const STRING_BYTES_MAX = 0x7fff;

/** A UTF-16 code unit encodes to at most 3 bytes: strings this short always fit. */
const ALWAYS_FITS_LENGTH = Math.floor(STRING_BYTES_MAX / 3);

/** UTF-8 bytes of `text` when it is encoded, or null when it fits a Kafka string (cheap for short strings). */
export function oversizedBytes(text: string): number | null {
  if (text.length <= ALWAYS_FITS_LENGTH) return null;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > STRING_BYTES_MAX ? bytes : null;
}

/** `text` cut to at most `bytesMax` bytes of UTF-8, never inside a character. */
export function truncateUtf8(text: string, bytesMax: number): string {
  if (text.length * 3 <= bytesMax) return text;
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= bytesMax) return text;
  let end = bytesMax;
  while (end > 0 && (encoded[end]! & 0xc0) === 0x80) end--; // back off continuation bytes to a character start
  return encoded.toString('utf8', 0, end);
}

/**
 * Client-supplied text to quote in an error message: whole when it is short, otherwise
 * its first `limits.errorMessageExcerptBytesMax` bytes followed by its full size, so a
 * message quoting it stays far below the string limit whatever the client sent.
 */
export function excerpt(text: string): string {
  const bytesMax = limits.errorMessageExcerptBytesMax;
  if (text.length * 3 <= bytesMax) return text;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= bytesMax) return text;
  return `${truncateUtf8(text, bytesMax)}… (${bytes} bytes)`;
}
