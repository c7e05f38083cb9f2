namespace Gateway.Aspire.Testing;

/// <summary>Throw-away directories for test servers, removed when the fixture ends.</summary>
public static class TestDirectories
{
    /// <summary>
    /// A new empty directory under the system temp folder. Under /tmp (world-traversable) rather
    /// than the build output, because PostgreSQL runs as the <c>postgres</c> user when tests run as root.
    /// </summary>
    public static string Create(string purpose)
    {
        var path = Path.Combine(Path.GetTempPath(), "gateway-aspire-tests", $"{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Removes a directory made by <see cref="Create"/>, ignoring what is already gone.</summary>
    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
