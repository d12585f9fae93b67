/**
 * Names of the built-in sanitizer presets. The API only needs the names (so the CRD can
 * enumerate them); the patterns and actions live in src/sanitizer/presets.ts, which is
 * checked against this list by a test.
 */
export const PRESET_NAMES = [
  'anthropic-keys',
  'openai-keys',
  'aws-access-key-ids',
  'aws-secret-keys',
  'github-tokens',
  'gitlab-tokens',
  'slack-tokens',
  'slack-webhooks',
  'stripe-keys',
  'google-api-keys',
  'npm-tokens',
  'huggingface-tokens',
  'sendgrid-keys',
  'saas-api-keys',
  'dev-platform-tokens',
  'cloud-platform-tokens',
  'ai-platform-keys',
  'short-prefix-tokens',
  'chat-webhooks',
  'bot-tokens',
  'azure-storage-keys',
  'jwts',
  'private-keys',
  'kubernetes-secret-data',
  'authorization-headers',
  'url-credentials',
  'secret-assignments',
  'email-addresses',
] as const;

export type PresetName = (typeof PRESET_NAMES)[number];
