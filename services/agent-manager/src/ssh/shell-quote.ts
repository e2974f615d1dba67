/**
 * Quotes one argument for a POSIX shell: the whole value in single quotes, each single
 * quote written as '\''. Nothing inside single quotes is special to sh, so `$(...)`,
 * backquotes, `;`, globs and spaces stay literal. NUL cannot be passed in an argument at
 * all and is refused.
 */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("a shell argument cannot contain a NUL byte");
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
