/**
 * Where a SpanTable keeps a row's request and response payloads: slots 2 x row (request)
 * and 2 x row + 1 (response) of its `payloads` texts.
 */

export const REQUEST = 0;
export const RESPONSE = 1;
export type PayloadSide = typeof REQUEST | typeof RESPONSE;

export function payloadSlot(row: number, side: PayloadSide): number {
  return 2 * row + side;
}
