/**
 * Limits the collector enforces, and how its persistent queue divides its volume. They live in
 * the API layer because the spec's validation refuses a queue volume the budget cannot fit in,
 * and the chart renders the same numbers into the collector configuration.
 */
import { MiB } from './quantity.ts';

/**
 * Largest OTLP request the receivers accept, after decompression, on both protocols (gRPC's own
 * default). A Claude Code batch is at most 512 records of a few KiB, far below it; without the
 * limit an OTLP/HTTP body may be 20 MiB, and a few concurrent ones exceed the pod's memory.
 */
export const MAX_REQUEST_BYTES = 4 * MiB;

/**
 * Each persistent queue must hold at least this many requests of the largest size: one being
 * exported (it stays in the queue until the backend acknowledges it) and one arriving.
 */
export const MIN_QUEUED_REQUESTS = 2;

/**
 * Share of the volume the filesystem keeps for itself. ext4 (what most CSI drivers format)
 * reserves 5 % for root, which the collector (uid 10001) cannot use, and spends about 3 % on
 * its journal and 1.5-6 % on inode tables, more on small volumes; plus a fixed 4 MiB.
 */
const FILESYSTEM_SHARE = 0.15;
const FILESYSTEM_FIXED = 4 * MiB;

/**
 * Rebound compaction (online, after a backlog drained) copies what is left of a queue file to a
 * temporary file on the same volume; it starts only below this much live data, so each such copy
 * is small. Each queue file may compact at the same time, so every file reserves twice this.
 */
export const REBOUND_TRIGGER_MIB = 1;

/**
 * bbolt (file_storage) writes each request in whole 4 KiB pages, leaves split pages half full and
 * writes every change copy-on-write: the file needs free pages even to delete what was sent. The
 * queue accepts at most this share of its file's cap, so a full queue can still mark items sent.
 */
const QUEUE_SHARE_OF_FILE = 0.5;

/**
 * What a bbolt file capped at `maxFileBytes` can hold. bbolt grows a file in steps and refuses a
 * step that would pass the cap: up to its allocation size (16 MiB) to the next power of two,
 * beyond it to the needed size plus 16 MiB. So the last step's worth of the cap is never used.
 */
export function bboltUsableBytes(maxFileBytes: number): number {
  const ALLOC = 16 * MiB;
  if (maxFileBytes >= 2 * ALLOC) return maxFileBytes - ALLOC;
  if (maxFileBytes < 32 * 1024) return 0;
  return Math.min(ALLOC, 2 ** Math.floor(Math.log2(maxFileBytes)));
}

/** Queue files per exporter: the collector keeps one bbolt file per exporter and signal. */
const SIGNALS = ['logs', 'metrics'] as const;

export interface QueueBudget {
  /** bbolt files on the volume (one per exporter and signal). */
  readonly files: number;
  /** file_storage `max_size`: no bbolt file grows past it, so the volume never fills. */
  readonly maxFileBytes: number;
  /** sending_queue `queue_size` with `sizer: bytes`: what each exporter's queue accepts per signal (half of what its file can hold). */
  readonly queueBytes: number;
  /** Room kept free for compaction on start, which copies one whole file before replacing it. */
  readonly compactionReserveBytes: number;
}

/**
 * How a queue volume of `volumeBytes` is divided among `exporters` exporters. Every file gets the
 * same cap (file_storage has one `max_size`, and an exporter's queue settings apply to both of
 * its signals), and the volume keeps room for the filesystem, for compacting the largest file
 * on start and for concurrent rebound compactions:
 *
 *   filesystem + files * maxFile + maxFile (compaction on start) + files * 2 * trigger <= volume
 */
export function queueBudget(volumeBytes: number, exporters: number): QueueBudget {
  const files = exporters * SIGNALS.length;
  const usable = volumeBytes * (1 - FILESYSTEM_SHARE) - FILESYSTEM_FIXED - files * 2 * REBOUND_TRIGGER_MIB * MiB;
  // Whole MiB, so the rendered numbers read as a person would write them.
  const maxFileBytes = Math.max(0, Math.floor(usable / (files + 1) / MiB) * MiB);
  return {
    files,
    maxFileBytes,
    queueBytes: Math.floor((bboltUsableBytes(maxFileBytes) * QUEUE_SHARE_OF_FILE) / MiB) * MiB,
    compactionReserveBytes: maxFileBytes,
  };
}

/** Whether each queue of the budget holds MIN_QUEUED_REQUESTS requests of the largest size. */
export function queueBudgetFits(volumeBytes: number, exporters: number): boolean {
  return queueBudget(volumeBytes, exporters).queueBytes >= MIN_QUEUED_REQUESTS * MAX_REQUEST_BYTES;
}

/** Smallest queue volume, in whole MiB, whose budget fits (for the validation message and its CEL twin). */
export function minimumQueueVolumeMiB(exporters: number): number {
  let mib = 1;
  while (!queueBudgetFits(mib * MiB, exporters)) mib++;
  return mib;
}
