namespace Gateway.Aspire.Testing;

/// <summary>Finds the repository root (the directory holding Gateway.Aspire.sln).</summary>
public static class RepositoryRoot
{
    /// <summary>The nearest ancestor of the test's base directory that holds Gateway.Aspire.sln.</summary>
    public static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gateway.Aspire.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Gateway.Aspire.sln not found above " + AppContext.BaseDirectory);
    }
}
