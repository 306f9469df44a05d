// Pulumi entry point (Pulumi.yaml `main`): the program's returned object becomes the stack outputs.
import { estateProgram } from "./program.js";

export default async () => estateProgram();
