/** Whether `version` lies in a specification version range: "none", "3", "3+", "3-7". */
export function versionInRange(range: string, version: number): boolean {
  if (range === 'none' || range === '') return false;
  if (range.endsWith('+')) return version >= Number(range.slice(0, -1));
  const dash = range.indexOf('-');
  if (dash < 0) return version === Number(range);
  return version >= Number(range.slice(0, dash)) && version <= Number(range.slice(dash + 1));
}
