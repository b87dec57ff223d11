// Types for the parts of the joyent `http-signature` package the emulator uses (no @types exist).
declare module 'http-signature' {
  import type { IncomingMessage } from 'node:http';
  interface ParsedSignature {
    scheme: string;
    keyId: string;
    algorithm: string;
    signingString: string;
    params: { headers: string[]; keyId: string; algorithm: string; signature: string };
  }
  interface HttpSignature {
    parseRequest(
      request: IncomingMessage,
      options?: { clockSkew?: number; headers?: string[]; strict?: boolean },
    ): ParsedSignature;
    verifySignature(parsed: ParsedSignature, publicKeyPem: string | Buffer): boolean;
  }
  const httpSignature: HttpSignature;
  export default httpSignature;
}
