using Cloudflare.Emulation.Benchmarks;

// dotnet run --project tests/Benchmarks -c Release -- stacks [K ...]
var command = args.FirstOrDefault() ?? "stacks";
switch (command)
{
    case "stacks":
        var sizes = args.Skip(1).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        await StackScalingBenchmark.RunAsync(sizes.Length > 0 ? sizes : [1, 10, 50]);
        return 0;
    default:
        Console.Error.WriteLine($"Unknown benchmark '{command}'. Available: stacks [K ...]");
        return 2;
}
