import { ContractError, type EventAppender, type LogRecord } from '@usertags/contracts';
import { type EmbeddedLog, openEmbeddedLog } from '@usertags/runtime';

export interface EmbeddedEventLogConfig {
  /** The log file (created with its folder when missing). */
  readonly path: string;
  readonly topic: string;
  /** Partitions when this process creates the topic; an existing topic keeps its own. */
  readonly partitions: number;
}

/**
 * The command side of the embedded event log (runtime/src/embedded-log.ts):
 * an append returns once SQLite has committed the records durably. The file
 * is opened lazily and re-opened after a failure, so a log that cannot be
 * opened (a bad path, a full disk) answers LOG_UNAVAILABLE instead of
 * stopping the API.
 */
export function createEmbeddedEventLog(config: EmbeddedEventLogConfig): EventAppender {
  let log: EmbeddedLog | undefined;
  let closed = false;

  function unavailable(error: unknown): ContractError {
    const reason = error instanceof Error ? error.message : String(error);
    return new ContractError('LOG_UNAVAILABLE', `the event log is unavailable (${reason}); the tag was not stored`, { cause: error });
  }

  function open(): EmbeddedLog {
    if (log === undefined) {
      const opened = openEmbeddedLog(config.path);
      try {
        opened.ensureTopic(config.topic, config.partitions);
      } catch (error) {
        opened.close();
        throw error;
      }
      log = opened;
    }
    return log;
  }

  return {
    async append(records: readonly LogRecord[]) {
      if (closed) throw new ContractError('SHUTTING_DOWN', 'the event log is closed');
      try {
        open().append(config.topic, records);
      } catch (error) {
        log?.close();
        log = undefined;
        throw unavailable(error);
      }
    },
    async checkReady() {
      try {
        open();
      } catch (error) {
        throw unavailable(error);
      }
    },
    async close() {
      closed = true;
      log?.close();
      log = undefined;
    },
  };
}
