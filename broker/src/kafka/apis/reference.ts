/** The registry as documentation: the README's table of served APIs. */
import { SERVED_APIS } from './registry.js';

export function renderApiTable(): string {
  const rows = [...SERVED_APIS]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((a) => `| ${a.name} | ${a.apiKey} | ${a.minVersion === a.maxVersion ? a.minVersion : `${a.minVersion}-${a.maxVersion}`} |`);
  return ['| API | key | versions |', '|---|---|---|', ...rows].join('\n');
}
