/**
 * The TypeScript examples a user reads: ```ts blocks of Markdown, and ```ts blocks inside TSDoc
 * `@example` tags, each with where it is written.
 */

export interface Example {
  /** Where it is written: file and line. */
  origin: string;
  code: string;
}

/** The ```ts blocks of a Markdown text. */
export function markdownExamples(file: string, text: string): Example[] {
  const examples: Example[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
    const start = i + 1;
    while (i + 1 < lines.length && !/^```\s*$/.test(lines[i + 1])) i++;
    examples.push({ origin: `${file}:${start}`, code: lines.slice(start, i + 1).join("\n") });
    i++;
  }
  return examples;
}

/** The ```ts blocks inside `@example` tags of TSDoc comments. */
export function tsdocExamples(file: string, text: string): Example[] {
  const examples: Example[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example\s*$/.test(lines[i])) continue;
    while (i < lines.length && !/^\s*\*\s*```/.test(lines[i])) i++;
    const start = i + 1;
    const body: string[] = [];
    for (i = start; i < lines.length && !/^\s*\*\s*```\s*$/.test(lines[i]); i++)
      body.push(lines[i].replace(/^\s*\* ?/, ""));
    examples.push({ origin: `${file}:${start + 1}`, code: body.join("\n") });
  }
  return examples;
}
