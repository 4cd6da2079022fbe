// The Node half of ProtocolContractTests (C#): reads { operations: [{ op, request, reply }] } on
// stdin, as C# serialises its records, and prints which operations Node knows and what does not fit
// protocol.mjs — so a field renamed, added or dropped on either side fails the contract test.
import { text } from "node:stream/consumers";
import { operations, commandProblem, replyProblem } from "../protocol.mjs";

const { operations: samples } = JSON.parse(await text(process.stdin));
const problems = [];
for (const [index, { op, request, reply }] of samples.entries()) {
  const requestProblem = commandProblem({ id: index + 1, op, ...request });
  if (requestProblem) problems.push(`request: ${requestProblem}`);
  else {
    const wrongReply = replyProblem(op, reply);
    if (wrongReply) problems.push(wrongReply);
  }
}
process.stdout.write(JSON.stringify({ operations: Object.keys(operations), problems }));
