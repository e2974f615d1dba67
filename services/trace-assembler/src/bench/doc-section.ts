/**
 * docs/benchmarks.md holds the results of several benchmarks and notes written by hand;
 * each benchmark rewrites only its own section, between its markers, and leaves the rest
 * of the file as it is. A section without markers yet is appended.
 */
export function withSection(document: string, benchmark: string, section: string): string {
  const start = `<!-- bench:${benchmark} start (written by npm run bench:${benchmark}) -->`;
  const end = `<!-- bench:${benchmark} end -->`;
  const marked = `${start}\n${section.trimEnd()}\n${end}`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  return from >= 0 && to > from
    ? document.slice(0, from) + marked + document.slice(to + end.length)
    : `${document.trimEnd()}\n\n${marked}\n`;
}
