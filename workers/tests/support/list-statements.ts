// Prints, as JSON, the SQL of every list the account API can run: each entity with no filter, each
// filter and each pair of filters, each sort, ascending and descending, first and next page — built
// by the account Worker's own code (store.ts listStatement), for QueryPlanTests to check each plan.
import { catalog } from "../../account/src/entities/catalog";
import { listStatement } from "../../account/src/entities/store";
import type { ListQuery } from "../../account/src/entities/list-query";

const statements = [];
for (const def of catalog) {
  const filters = Object.entries(def.filters).map(([name, filter]) => ({ name, column: filter.column, prefix: filter.prefix }));
  const filterSets = [[], ...filters.map((f) => [f]), ...filters.flatMap((a, i) => filters.slice(i + 1).map((b) => [a, b]))];
  for (const set of filterSets) {
    for (const [sortField, sortColumn] of Object.entries(def.sorts)) {
      // A prefix search lists by its own column (parseListQuery refuses any other sort with it).
      if (set.some((f) => f.prefix && f.column !== sortColumn)) continue;
      for (const descending of [false, true]) {
        for (const nextPage of [false, true]) {
          const query: ListQuery = {
            where: set.map((f) => ({ column: f.column, value: "x", prefix: f.prefix })),
            sortField,
            sortColumn,
            descending,
            limit: 50,
            after: nextPage ? { value: "m", id: "m" } : undefined,
          };
          statements.push({ entity: def.name, table: def.table, filters: set.map((f) => f.name), sort: (descending ? "-" : "") + sortField, nextPage, ...listStatement(def, query) });
        }
      }
    }
  }
}
process.stdout.write(JSON.stringify(statements));
