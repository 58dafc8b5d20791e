import { toJson, type DescMessage, type MessageShape } from '@bufbuild/protobuf'
import { readClientToken } from '@codio/auth'
import { AdminService, ControlService } from '@codio/proto'
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from '@connectrpc/connect'
import { createConnectTransport } from '@connectrpc/connect-node'
import { codeToString } from '@connectrpc/connect/protocol-connect'
import { resolveEndpoint } from '../../endpoints.js'
import { AdminCallError } from '../../errors.js'

/** Options of `codio admin` shared by every subcommand. */
export interface AdminGlobalOptions {
  /** A node's admin URL, or the name of a process in cluster.json. */
  admin?: string
  /** The tracker's ConnectRPC URL. */
  tracker?: string
  /** File holding the bearer token (default `$CODIO_TOKEN_FILE`). */
  tokenFile?: string
  /** Print the response message as protobuf JSON instead of a table. */
  json?: boolean
}

/** Longest wait for one admin call (ms); Drain and the job calls return at once. */
const CALL_TIMEOUT_MS = 30_000

/**
 * What a subcommand needs: clients of the node's `AdminService` and the tracker's
 * `ControlService` (URLs resolved lazily, a bearer token on every call), and output.
 */
export class AdminContext {
  private url = ''
  readonly json: boolean

  constructor (readonly options: AdminGlobalOptions, private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly env: Record<string, string | undefined> = process.env) {
    this.json = options.json === true
  }

  /** A client of the node's admin API (`--admin`, `$CODIO_ADMIN`, or the first edge). */
  async node (): Promise<Client<typeof AdminService>> {
    const baseUrl = await resolveEndpoint('admin', { flag: this.options.admin, env: this.env })
    return createClient(AdminService, await this.transport(baseUrl))
  }

  /** A client of the tracker's control API (`--tracker`, `$CODIO_TRACKER`, or cluster.json's tracker). */
  async control (): Promise<Client<typeof ControlService>> {
    const baseUrl = await resolveEndpoint('tracker', { flag: this.options.tracker, env: this.env })
    return createClient(ControlService, await this.transport(baseUrl))
  }

  private async transport (baseUrl: string): Promise<Transport> {
    const token = await this.token()
    const remember: Interceptor = next => async req => {
      this.url = req.url
      if (token != null) req.header.set('Authorization', `Bearer ${token}`)
      return await next(req)
    }
    return createConnectTransport({ baseUrl, httpVersion: '1.1', interceptors: [remember], defaultTimeoutMs: CALL_TIMEOUT_MS })
  }

  /**
   * The token from `--token-file` or `$CODIO_TOKEN_FILE` (its first token: the file format of
   * `@codio/auth`, one token a line, `#` comments); none without either.
   * @throws TokenFileError when the file cannot be read or holds no valid token
   */
  private async token (): Promise<string | undefined> {
    const path = this.options.tokenFile ?? this.env.CODIO_TOKEN_FILE
    if (path == null || path === '') return undefined
    return await readClientToken(path)
  }

  /** Print `message` as protobuf JSON with `--json`, else run `human`. */
  print<D extends DescMessage> (schema: D, message: MessageShape<D>, human: () => void): void {
    if (this.json) this.line(JSON.stringify(toJson(schema, message), null, 2))
    else human()
  }

  line (text: string): void {
    this.out.write(`${text}\n`)
  }

  /** An error of a call made through this context, as the error `codio admin` prints. */
  explain (err: unknown): unknown {
    if (!(err instanceof ConnectError)) return err
    const code = codeToString(err.code)
    return new AdminCallError(code, err.rawMessage, this.url, hint(err.code, this.url), { cause: err })
  }
}

function hint (code: Code, url: string): string | undefined {
  switch (code) {
    case Code.Unauthenticated: return 'pass --token-file FILE or set CODIO_TOKEN_FILE to a file holding a token the server accepts'
    case Code.PermissionDenied: return 'the token lacks the scope this call needs: admin for changes, read for queries'
    case Code.Unimplemented: return `${url} does not serve this call (yet)`
    case Code.Unavailable: return `is a Codio process listening at ${url === '' ? 'that URL' : new URL(url).origin}?`
    default: return undefined
  }
}
