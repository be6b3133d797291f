/** An entry of a lifecycle's audit trail: who did what, when; ids and hashes only. */
export interface AuditEvent {
  at: number;
  action: string;
  by: string;
  detail?: Record<string, string | number>;
}
