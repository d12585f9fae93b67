/**
 * The cost of an imported request, which transcripts do not record per request: estimated from
 * the price table of @pydantic/genai-prices (bundled data, no network; a newer package version
 * brings newer prices). Prices by model and by the request's date, with Anthropic's separate
 * rates for cache reads and for 5-minute and 1-hour cache writes, and the long-context tiers.
 * For the pinned client's default model this gives the cost the client itself reports
 * (test/import-real-client.test.ts compares the two).
 */
import { calcPrice } from '@pydantic/genai-prices';
import type { TokenUsage } from './transcript.ts';

/** Rounded to a billionth of a dollar: the table's floating-point sums carry noise below that. */
const round = (usd: number) => Math.round(usd * 1e9) / 1e9;

/** USD for one request, or undefined when the table has no price for the model. */
export function estimateCost(model: string, usage: TokenUsage, time: number): number | undefined {
  const cacheWrite1h = usage.cacheCreation1h ?? 0;
  const tokens = {
    // The table's input is all input, its cache parts included; each part has its own rate.
    input_tokens: usage.input + usage.cacheRead + usage.cacheCreation,
    cache_read_tokens: usage.cacheRead,
    cache_write_tokens: usage.cacheCreation,
    ...(cacheWrite1h > 0 ? { cache_write_1h_tokens: Math.min(cacheWrite1h, usage.cacheCreation) } : {}),
    output_tokens: usage.output,
  };
  const options = { timestamp: new Date(time) };
  // The provider first (Anthropic's ids), then any (Bedrock and Vertex spell the model differently).
  const result = calcPrice(tokens, model, { ...options, providerId: 'anthropic' }) ?? calcPrice(tokens, model, options);
  return result ? round(result.total_price) : undefined;
}

/** Where the prices come from, for the summary: the package and its version. */
export const PRICE_TABLE = '@pydantic/genai-prices';
