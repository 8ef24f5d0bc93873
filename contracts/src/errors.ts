/**
 * The closed set of error codes the system uses. Each code has one meaning,
 * one HTTP status (where it reaches a client) and one retry rule, defined here
 * and nowhere else.
 */
export const ERROR_CODES = {
  INVALID_REQUEST: { status: 400, retryable: false, title: 'Invalid request' },
  INVALID_EVENT: { status: 400, retryable: false, title: 'Invalid user tag' },
  MALFORMED_JSON: { status: 400, retryable: false, title: 'Malformed JSON body' },
  NOT_FOUND: { status: 404, retryable: false, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, title: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, retryable: false, title: 'Request timeout' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, title: 'Unsupported media type' },
  EXPECTATION_FAILED: { status: 417, retryable: false, title: 'Expectation failed' },
  HEADERS_TOO_LARGE: { status: 431, retryable: false, title: 'Request header fields too large' },
  // Never sent: the client went away before its request was whole. 499 (nginx's "client closed request") labels it in metrics and logs.
  CLIENT_CLOSED: { status: 499, retryable: false, title: 'Client closed request' },
  UNDECODABLE_EVENT: { status: 500, retryable: false, title: 'Undecodable event' },
  LOG_UNAVAILABLE: { status: 503, retryable: true, title: 'Event log unavailable' },
  OVERLOADED: { status: 503, retryable: true, title: 'Server overloaded' },
  SHUTTING_DOWN: { status: 503, retryable: true, title: 'Server shutting down' },
  STORE_UNAVAILABLE: { status: 503, retryable: true, title: 'Store unavailable' },
  LOG_MISMATCH: { status: 503, retryable: false, title: 'Read model built from another log' },
  INTERNAL: { status: 500, retryable: false, title: 'Internal error' },
} as const satisfies Record<string, { status: number; retryable: boolean; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One invalid field of a request: a dotted path (`product_info.price`) and what is wrong with it. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** An error with a code from the closed set; `retryable` follows from the code. */
export class ContractError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly issues: readonly FieldIssue[];

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; issues?: readonly FieldIssue[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ContractError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.issues = options.issues ?? [];
  }
}

/** An RFC 9457 problem-details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  /** Present on validation errors: every bad field, not only the first. */
  errors?: FieldIssue[];
}

/** Maps any error to a problem body. Errors outside the closed set become INTERNAL without leaking their message. */
export function toProblem(error: unknown): Problem {
  const known = error instanceof ContractError ? error : undefined;
  const code: ErrorCode = known?.code ?? 'INTERNAL';
  const spec = ERROR_CODES[code];
  const problem: Problem = {
    type: `urn:usertags:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: spec.title,
    status: spec.status,
    detail: known?.message ?? 'An unexpected error occurred.',
    code,
  };
  if (known !== undefined && known.issues.length > 0) problem.errors = [...known.issues];
  return problem;
}

/** The message of anything thrown: an Error's own message, anything else as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
