declare module 'vitest' {
  export interface ProvidedContext {
    aztecNodeUrl: string;
    /** Tusk home whose aztec/ folder holds the operator's deployment file and escrow master secret. */
    aztecOperatorHome: string;
  }
}

export {};
