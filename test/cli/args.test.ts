// The shared option parsers, in-process (the commands' own tests run one bad flag each through the real CLI).
import { describe, expect, it } from "vitest";
import { numberArg } from "../../cli/args.js";
import { UserError } from "../../cli/errors.js";

describe("numberArg", () => {
  it("takes numbers in range and refuses the rest with a UserError naming the flag, value and range", () => {
    const k = numberArg("--k", 1, 256, true);
    expect(k("16")).toBe(16);
    expect(() => k("0")).toThrow(new UserError("--k 0: expected an integer from 1 to 256"));
    expect(() => k("257")).toThrow(/--k 257: expected an integer from 1 to 256/);
    expect(() => k("2.5")).toThrow(/--k 2.5: expected an integer/);
    expect(() => k("four")).toThrow(UserError);
    expect(numberArg("--ratio", 0, 1)("0.25")).toBe(0.25);
    expect(() => numberArg("--ratio", 0, 1)("2")).toThrow(/--ratio 2: expected a number from 0 to 1/);
  });
});
