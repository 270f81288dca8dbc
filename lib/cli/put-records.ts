import { toImgError } from '../errors.js';
import type { ManifestPutter } from '../image/put.js';
import type { ImageRecord } from '../oci/record.js';
import { failedRecord, type RecordSink } from './records.js';

/**
 * putRecords is img-manifest put's loop: processRecords (lib/cli/records.ts) plus an end of input,
 * where the archives are finished and the records held for them printed. Records bound for an
 * archive written to stdout are not printed (the archive is stdout); their errors still go to
 * stderr and make the status 1. An error record from an earlier stage gives up its archive.
 */
export async function putRecords(command: string, input: AsyncIterable<ImageRecord>, putter: ManifestPutter, out: RecordSink): Promise<number> {
  let failed = false;
  const emit = async (r: ImageRecord) => {
    if (!putter.toStdout(r)) await out.write(r);
  };
  const report = (rec: ImageRecord, err: unknown): ImageRecord => {
    failed = true;
    return failedRecord(command, rec, err);
  };
  try {
    for await (const rec of input) {
      if (rec.error !== undefined) {
        failed = true;
        await putter.failed(rec);
        await emit(rec);
        continue;
      }
      try {
        for (const r of await putter.put(rec)) await emit(r);
      } catch (e) {
        await emit(report(rec, e));
      }
      if (out.closed) break;
    }
    const done = await putter.finish();
    // One line on stderr per failed archive, not per image in it.
    const said = new Set<unknown>();
    for (const { record, error } of done) {
      if (!error) await emit(record);
      else if (said.has(error)) {
        const e = toImgError(error);
        await emit({ ...record, error: { code: e.code, message: e.message, stage: command } });
      } else {
        said.add(error);
        await emit(report(record, error));
      }
    }
  } catch (e) {
    await putter.abort();
    throw e;
  }
  return failed ? 1 : 0;
}
