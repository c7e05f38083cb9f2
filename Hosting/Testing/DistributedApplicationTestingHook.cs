namespace Gateway.Aspire.Hosting.Testing;

/// <summary>
/// Set by <see cref="DistributedApplicationTestingBuilder"/> around a call of the AppHost's entry
/// point: configuration overrides flow into <c>CreateBuilder</c>, and <c>Run()</c> hands the built
/// application to the test instead of blocking. An AsyncLocal, so parallel tests do not mix.
/// </summary>
internal sealed class DistributedApplicationTestingHook
{
    private static readonly AsyncLocal<DistributedApplicationTestingHook?> CurrentHook = new();

    public static DistributedApplicationTestingHook? Current
    {
        get => CurrentHook.Value;
        set => CurrentHook.Value = value;
    }

    public required IReadOnlyDictionary<string, string?> ConfigurationOverrides { get; init; }

    public required TextWriter Output { get; init; }

    public DistributedApplication? Application { get; private set; }

    public void Built(DistributedApplication application) => Application = application;
}
