using Microsoft.Extensions.Configuration;

namespace Cloudflare.Emulation.Configuration;

/// <summary>The harness's settings: from the "Harness" configuration section or the command line.</summary>
public sealed record HarnessOptions
{
    public const string Section = "Harness";
    public const int DefaultAccounts = 3;
    public const int MaxAccounts = 200;

    /// <summary>How many account stacks the AppHost starts next to the platform.</summary>
    public int Accounts { get; init; } = DefaultAccounts;

    /// <summary>Root folder of every stack's state (D1, R2, KV files); one sub-folder per stack.</summary>
    public required string StateRoot { get; init; }

    /// <summary>Folder holding the Workers' sources, wrangler configs and package.json.</summary>
    public required string WorkersDirectory { get; init; }

    /// <summary>The Node runtime host script (emulation/runtime-host/host.mjs).</summary>
    public required string RuntimeHostScript { get; init; }

    /// <summary>Fixed port for the platform Worker; 0 picks a free one.</summary>
    public int PlatformPort { get; init; }

    /// <summary>Reload Workers when files under the workers folder change.</summary>
    public bool HotReload { get; init; }

    /// <summary>Delete every stack's data before starting (a clean slate).</summary>
    public bool ResetState { get; init; }

    /// <summary>The node executable (found on PATH when not set).</summary>
    public string Node { get; init; } = "node";

    /// <summary>
    /// Run once as a residency check instead of serving: start, audit every stack, write the report
    /// here (JSON) and exit 0 when compliant, 1 on a violation. Null: serve as usual.
    /// </summary>
    public string? ResidencyReportPath { get; init; }

    /// <summary>A scenario file to run headless (--scenario), instead of the dashboard.</summary>
    public string? ScenarioPath { get; init; }

    /// <summary>
    /// Traces, structured logs and metrics of every Worker and of the local Cloudflare API, sent to the
    /// dashboard (--telemetry false turns them off). Where they go: <see cref="TelemetryEndpoint"/>.
    /// </summary>
    public bool Telemetry { get; init; } = true;

    /// <summary>
    /// The OTLP/HTTP endpoint telemetry goes to (Harness:TelemetryEndpoint); null: the dashboard's,
    /// when the AppHost runs one. Loopback only: nothing leaves the machine.
    /// </summary>
    public Uri? TelemetryEndpoint { get; init; }

    /// <summary>Where tenant data may live and travel (Harness:Residency).</summary>
    public ResidencyPolicy Residency { get; init; } = ResidencyPolicy.Default;

    /// <summary>Command-line options the harness understands, mapped to configuration keys.</summary>
    public static readonly IReadOnlyDictionary<string, string> CommandLineOptions = new Dictionary<string, string>
    {
        ["--accounts"] = $"{Section}:{nameof(Accounts)}",
        ["--state-root"] = $"{Section}:{nameof(StateRoot)}",
        ["--platform-port"] = $"{Section}:{nameof(PlatformPort)}",
        ["--hot-reload"] = $"{Section}:{nameof(HotReload)}",
        ["--reset-state"] = $"{Section}:{nameof(ResetState)}",
        ["--residency-report"] = $"{Section}:ResidencyReport",
        ["--scenario"] = $"{Section}:Scenario",
        ["--telemetry"] = $"{Section}:{nameof(Telemetry)}",
    };

    /// <summary>
    /// Reads and validates the options. <paramref name="repositoryRoot"/> anchors the default paths.
    /// Throws <see cref="HarnessConfigurationException"/> naming the setting and the fix.
    /// </summary>
    public static HarnessOptions Load(IConfiguration configuration, string repositoryRoot)
    {
        var section = configuration.GetSection(Section);
        var options = new HarnessOptions
        {
            Accounts = ReadInt(section, nameof(Accounts), DefaultAccounts, "--accounts"),
            StateRoot = Path.GetFullPath(section[nameof(StateRoot)] ?? Path.Combine(repositoryRoot, ".state"), repositoryRoot),
            WorkersDirectory = Path.GetFullPath(section["WorkersDirectory"] ?? Path.Combine(repositoryRoot, "workers"), repositoryRoot),
            RuntimeHostScript = Path.GetFullPath(section["RuntimeHostScript"] ?? Path.Combine(repositoryRoot, "emulation", "runtime-host", "host.mjs"), repositoryRoot),
            PlatformPort = ReadInt(section, nameof(PlatformPort), 0, "--platform-port"),
            HotReload = ReadBool(section, nameof(HotReload), false, "--hot-reload"),
            ResetState = ReadBool(section, nameof(ResetState), false, "--reset-state"),
            Telemetry = ReadBool(section, nameof(Telemetry), true, "--telemetry"),
            TelemetryEndpoint = LoopbackUri(section[nameof(TelemetryEndpoint)], $"{Section}:{nameof(TelemetryEndpoint)}"),
            Node = section[nameof(Node)] ?? "node",
            Residency = ResidencyPolicy.Load(configuration),
        };
        options = options with
        {
            ResidencyReportPath = ReportPath(section["ResidencyReport"], options.StateRoot, repositoryRoot),
            ScenarioPath = ScenarioFile(section["Scenario"], repositoryRoot),
        };
        options.Validate();
        return options;
    }

    /// <summary>Checks every setting; the first problem found is thrown with its fix.</summary>
    public void Validate()
    {
        if (Accounts is < 0 or > MaxAccounts)
        {
            throw new HarnessConfigurationException("--accounts",
                $"must be between 0 and {MaxAccounts}, got {Accounts}. Example: dotnet run --project AppHost -- --accounts 3");
        }
        if (PlatformPort is < 0 or > 65535)
        {
            throw new HarnessConfigurationException("--platform-port",
                $"must be a TCP port (1-65535) or 0 for any free port, got {PlatformPort}.");
        }
        if (!File.Exists(Path.Combine(WorkersDirectory, "package.json")))
        {
            throw new HarnessConfigurationException("Harness:WorkersDirectory",
                $"'{WorkersDirectory}' holds no package.json; point it at the repository's workers folder.");
        }
        if (!File.Exists(RuntimeHostScript))
        {
            throw new HarnessConfigurationException("Harness:RuntimeHostScript", $"'{RuntimeHostScript}' does not exist.");
        }
    }

    /// <summary>
    /// Rejects command-line options the harness does not know, so a typo such as --acounts fails loudly
    /// instead of being ignored. Configuration-style arguments (--Section:Key=value) pass through.
    /// </summary>
    public static void RejectUnknownArguments(IEnumerable<string> args)
    {
        foreach (var arg in args)
        {
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                continue;
            }
            var name = arg.Split('=', 2)[0];
            if (name.Contains(':', StringComparison.Ordinal) || CommandLineOptions.ContainsKey(name) || AspireOptions.Contains(name))
            {
                continue;
            }
            throw new HarnessConfigurationException(name,
                $"is not an option of the harness. Known options: {string.Join(", ", CommandLineOptions.Keys)}.");
        }
    }

    // Options the Aspire AppHost itself understands (publishing and deployment).
    private static readonly HashSet<string> AspireOptions = ["--publisher", "--output-path", "--operation", "--step", "--dcp-cli-path"];

    /// <summary>--residency-report true: the report goes to &lt;state root&gt;/reports/residency.json; a path: there.</summary>
    /// <summary>A scenario file as given: from the current folder, or else from the repository's root.</summary>
    private static string? ScenarioFile(string? raw, string repositoryRoot) =>
        string.IsNullOrEmpty(raw) ? null
        : File.Exists(Path.GetFullPath(raw)) ? Path.GetFullPath(raw)
        : Path.GetFullPath(raw, repositoryRoot);

    /// <summary>An http URL on loopback (telemetry stays on the machine), or null when not set.</summary>
    private static Uri? LoopbackUri(string? raw, string option)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }
        return Uri.TryCreate(raw, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback
            ? uri
            : throw new HarnessConfigurationException(option, $"must be an http URL on loopback (e.g. http://127.0.0.1:4318), got '{raw}'.");
    }

    private static string? ReportPath(string? raw, string stateRoot, string repositoryRoot) => raw switch
    {
        null or "" or "false" => null,
        "true" => Path.Combine(stateRoot, "reports", "residency.json"),
        _ => Path.GetFullPath(raw, repositoryRoot),
    };

    private static int ReadInt(IConfigurationSection section, string key, int fallback, string option)
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }
        return int.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new HarnessConfigurationException(option, $"must be a whole number, got '{raw}'.");
    }

    private static bool ReadBool(IConfigurationSection section, string key, bool fallback, string option)
    {
        var raw = section[key];
        if (raw is null)
        {
            return fallback;
        }
        return bool.TryParse(raw, out var value)
            ? value
            : throw new HarnessConfigurationException(option, $"must be true or false, got '{raw}'.");
    }
}
