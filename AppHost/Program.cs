Console.WriteLine("AppHost: work in progress");
