using Cloudflare.Emulation.Benchmarks;

// dotnet run --project tests/Benchmarks -c Release -- stacks [K ...]
// dotnet run --project tests/Benchmarks -c Release -- queries [clients]
// dotnet run --project tests/Benchmarks -c Release -- provisioning [signups]
// dotnet run --project tests/Benchmarks -c Release -- replication [operations per client]
// dotnet run --project tests/Benchmarks -c Release -- chaos [requests per round]
// dotnet run --project tests/Benchmarks -c Release -- telemetry [requests per mode] [--budget]
// dotnet run --project tests/Benchmarks -c Release -- load --users N --seconds S [--account account-1] [--think 10s] [--report DIR] [--step K]
// dotnet run --project tests/Benchmarks -c Release -- capacity --years N [--scale 0.1] [--account account-1] [--report DIR]
var command = args.FirstOrDefault() ?? "stacks";
switch (command)
{
    case "stacks":
        var sizes = args.Skip(1).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        await StackScalingBenchmark.RunAsync(sizes.Length > 0 ? sizes : [1, 10, 50]);
        return 0;
    case "queries":
        await AccountQueryBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000);
        return 0;
    case "provisioning":
        await ProvisioningBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20);
        return 0;
    case "replication":
        await ReplicationBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
        return 0;
    case "chaos":
        await ChaosOverheadBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 300);
        return 0;
    case "telemetry":
        var telemetryArgs = args.Skip(1).Where(a => a != "--budget").ToList();
        await TelemetryOverheadBenchmark.RunAsync(telemetryArgs.Count > 0 ? int.Parse(telemetryArgs[0], System.Globalization.CultureInfo.InvariantCulture) : 1000, budgetOnly: args.Contains("--budget"));
        return 0;
    case "load":
        return await LoadBenchmark.RunAsync(args.Skip(1).ToList());
    case "capacity":
        return await CapacityBenchmark.RunAsync(args.Skip(1).ToList());
    default:
        Console.Error.WriteLine($"Unknown benchmark '{command}'. Available: stacks [K ...], queries [clients], provisioning [signups], replication [operations per client], chaos [requests per round], telemetry [requests per mode] [--budget], load --users N --seconds S [--account account-1] [--think 10s] [--report DIR] [--step K], capacity --years N [--scale 0.1] [--account account-1] [--report DIR]");
        return 2;
}
