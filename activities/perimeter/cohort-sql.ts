// The statements the perimeter runs are built in query-policies/, so that the lint (and
// `tusk template lint`) can parse and check exactly what the perimeter will run.
export * from '../../query-policies/cohort-sql';
