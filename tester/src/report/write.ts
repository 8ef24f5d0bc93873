import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import type { Report } from './model.ts';

/** Writes report.md, report.json and report.html into `dir` (created if missing). */
export async function writeReport(dir: string, report: Report): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all([
    writeFile(join(dir, 'report.md'), renderMarkdown(report)),
    writeFile(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`),
    writeFile(join(dir, 'report.html'), renderHtml(report)),
  ]);
}
