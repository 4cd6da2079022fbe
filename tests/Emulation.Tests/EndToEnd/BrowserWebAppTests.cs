using System.Net;
using Emulation.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Emulation.Tests.EndToEnd;

/// <summary>
/// The advisers' web app in a real browser (issue 19): a client with a dependant, a case with tasks and
/// a contact, made through the forms; a document uploaded with progress and downloaded byte for byte;
/// an edit conflict; the server's field errors; the readonly user's view; users for the owner; and a
/// document of another tenant pasted into a session. Each page scanned by axe.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class BrowserWebAppTests(HarnessFixture harness, Browser browser) : IClassFixture<Browser>
{
    private const string Password = "correct horse battery staple";

    private string Host(string account, string path = "/") => $"http://{account}.localhost:{harness.PlatformUrl.Port}{path}";



    /// <summary>A user of the account with the test's password; the owner's when role is null.</summary>
    private static async Task<string> UserAsync(TemporaryAccount account, string? role = null)
    {
        var id = role is null ? account.OwnerId : await account.Api.CreateIdAsync("users", new { email = $"{role}-{Guid.NewGuid():N}@example.com", name = $"Rita {role}", role });
        using (var set = await account.Api.SendAsync(HttpMethod.Put, $"/api/users/{id}/password", new { password = Password }))
        {
            Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
        }
        return (await account.Api.GetJsonAsync($"/api/users/{id}")).GetProperty("email").GetString()!;
    }

    [Fact]
    public Task An_adviser_makes_a_client_with_a_dependant_a_case_with_tasks_and_a_contact_then_uploads_and_downloads_a_document() => browser.RunAsync(nameof(An_adviser_makes_a_client_with_a_dependant_a_case_with_tasks_and_a_contact_then_uploads_and_downloads_a_document), async (_, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-flow");
        var host = Host(account.Slug);
        await Browser.SignInAsync(page, host, await UserAsync(account), Password);

        await page.GetByRole(AriaRole.Link, new() { Name = "New client" }).ClickAsync();
        await Browser.AssertAccessibleAsync(page);
        await page.GetByLabel("Name").FillAsync("Grace Hopper");
        await page.GetByLabel("E-mail").FillAsync("grace@example.com");
        await page.GetByLabel("Status").SelectOptionAsync("active");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Grace Hopper");
        var clientId = new Uri(page.Url).Segments.Last();

        var dependant = page.Locator("form[action$='/dependants']");
        await dependant.GetByLabel("Name").FillAsync("Walter Hopper");
        await dependant.GetByLabel("Relationship").SelectOptionAsync("child");
        await dependant.GetByRole(AriaRole.Button, new() { Name = "Add" }).ClickAsync();
        await Assertions.Expect(page.Locator("#dependants li")).ToContainTextAsync("Walter Hopper (child)");

        var newCase = page.Locator("form[action$='/cases']");
        await newCase.GetByLabel("Title").FillAsync("Pension transfer");
        await newCase.GetByLabel("Priority").SelectOptionAsync("high");
        await newCase.GetByRole(AriaRole.Button, new() { Name = "Add" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Pension transfer", Exact = true })).ToBeVisibleAsync();
        foreach (var (task, due) in new[] { ("Request transfer value", "2027-01-15"), ("Send recommendation", "2027-02-01") })
        {
            var addTask = page.Locator("form[action*='/tasks']");
            await addTask.GetByLabel("Task").FillAsync(task);
            await addTask.GetByLabel("Due").FillAsync(due);
            await addTask.GetByRole(AriaRole.Button, new() { Name = "Add" }).ClickAsync();
            await Assertions.Expect(page.Locator("article li", new() { HasText = task })).ToContainTextAsync($"todo, due {due}");
        }

        var contact = page.Locator("form[action$='/contacts']");
        await contact.GetByLabel("First name").FillAsync("Sam");
        await contact.GetByLabel("Last name").FillAsync("Solicitor");
        await contact.GetByLabel("Relationship (e.g. solicitor)").FillAsync("solicitor");
        await contact.GetByRole(AriaRole.Button, new() { Name = "Add" }).ClickAsync();
        await Assertions.Expect(page.Locator("#contacts li")).ToContainTextAsync("Sam Solicitor — solicitor");
        await Browser.AssertAccessibleAsync(page);

        // What the pages made is what the API holds.
        Assert.Single(await account.Api.ListIdsAsync("dependants", $"clientId={clientId}"));
        var caseId = Assert.Single(await account.Api.ListIdsAsync("cases", $"clientId={clientId}"));
        Assert.Equal(2, (await account.Api.ListIdsAsync("case-tasks", $"caseId={caseId}")).Count);

        // Upload with progress, then download: the same bytes.
        var bytes = new byte[3 * 1024 * 1024 + 17];
        Random.Shared.NextBytes(bytes);
        await page.Locator("#upload-file").SetInputFilesAsync(new FilePayload { Name = "statement.pdf", MimeType = "application/pdf", Buffer = bytes });
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "statement.pdf" })).ToBeVisibleAsync();
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "statement.pdf" }).ClickAsync());
        Assert.Equal("statement.pdf", download.SuggestedFilename);
        Assert.Equal(bytes, await File.ReadAllBytesAsync((await download.PathAsync())!));
    });

    [Fact]
    public Task An_upload_over_the_limit_is_refused_before_a_byte_is_sent() => browser.RunAsync(nameof(An_upload_over_the_limit_is_refused_before_a_byte_is_sent), async (_, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-limit");
        var clientId = await account.Api.CreateIdAsync("clients", new { name = "Big Files Ltd", status = "active" });
        await Browser.SignInAsync(page, Host(account.Slug), await UserAsync(account), Password);
        await page.GotoAsync(Host(account.Slug, $"/clients/{clientId}"));
        // One byte over the API's limit (a sparse file: nothing is written to disk but its length).
        var path = Path.Combine(Path.GetTempPath(), $"too-large-{Guid.NewGuid():N}.bin");
        await using (var file = File.Create(path))
        {
            file.SetLength(100L * 1024 * 1024 + 1);
        }
        try
        {
            var uploads = 0;
            page.Request += (_, request) => uploads += request.Url.Contains("/api/documents", StringComparison.Ordinal) && request.Method == "POST" ? 1 : 0;
            await page.Locator("#upload-file").SetInputFilesAsync(path);
            await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
            await Assertions.Expect(page.Locator("#upload-status")).ToContainTextAsync("at most 104857600 bytes. Nothing was sent.");
            // The script shows the progress bar just before it sends: still hidden, and nothing arrived.
            await Assertions.Expect(page.Locator("#upload-progress")).ToBeHiddenAsync();
            Assert.Equal(0, uploads);
            Assert.Empty(await account.Api.ListIdsAsync("documents"));
        }
        finally
        {
            File.Delete(path);
        }
    });

    [Fact]
    public Task Two_people_edit_one_client_and_the_second_is_told_someone_else_changed_it_keeping_what_they_typed() => browser.RunAsync(nameof(Two_people_edit_one_client_and_the_second_is_told_someone_else_changed_it_keeping_what_they_typed), async (_, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-edit");
        var clientId = await account.Api.CreateIdAsync("clients", new { name = "Ada Lovelace", status = "prospect" });
        await Browser.SignInAsync(page, Host(account.Slug), await UserAsync(account), Password);
        await page.GotoAsync(Host(account.Slug, $"/clients/{clientId}/edit"));
        await page.GetByLabel("Phone").FillAsync("020 7946 0000");

        // Meanwhile a colleague saves a change through the API.
        using (var theirs = await account.Api.SendAsync(HttpMethod.Patch, $"/api/clients/{clientId}", new { status = "active" }, ifMatch: "\"1\""))
        {
            Assert.Equal(HttpStatusCode.OK, theirs.StatusCode);
        }
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Someone else changed this client while you were editing");
        await Assertions.Expect(page.GetByLabel("Phone")).ToHaveValueAsync("020 7946 0000");
        await Browser.AssertAccessibleAsync(page);

        // Saving again, knowing, replaces theirs with what the form holds.
        await page.GetByLabel("Status").SelectOptionAsync("active");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Ada Lovelace");
        var saved = await account.Api.GetJsonAsync($"/api/clients/{clientId}");
        Assert.Equal("020 7946 0000", saved.GetProperty("phone").GetString());
        Assert.Equal(3, saved.GetProperty("tracking").GetProperty("version").GetInt32());
    });

    [Fact]
    public Task A_field_the_server_refuses_is_shown_next_to_that_field_on_a_page() => browser.RunAsync(nameof(A_field_the_server_refuses_is_shown_next_to_that_field_on_a_page), async (_, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-fields");
        await Browser.SignInAsync(page, Host(account.Slug), await UserAsync(account), Password);
        await page.GotoAsync(Host(account.Slug, "/clients/new"));
        // The browser's own checks first: a bad address is never sent.
        var posts = 0;
        page.Request += (_, request) => posts += request.Method == "POST" ? 1 : 0;
        await page.GetByLabel("Name").FillAsync("Bad Address");
        await page.GetByLabel("E-mail").FillAsync("not-an-address");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await page.WaitForTimeoutAsync(300);
        Assert.Equal(0, posts);
        Assert.False(await page.EvaluateAsync<bool>("() => document.querySelector('#email').checkValidity()"));
        // A browser that skips them: the server's 400, as a page, with the message at the field.
        await page.EvaluateAsync("() => document.querySelector('form[action=\"/clients/new\"]').noValidate = true");
        var answer = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync(), r => r.Request.Method == "POST");
        Assert.Equal(400, answer.Status);
        await Assertions.Expect(page.Locator("#email-error")).ToContainTextAsync("email");
        await Assertions.Expect(page.GetByLabel("Name")).ToHaveValueAsync("Bad Address");
        Assert.Empty(await account.Api.ListIdsAsync("clients"));
        await Browser.AssertAccessibleAsync(page);
    });

    [Fact]
    public Task A_readonly_user_sees_no_edit_controls_and_the_server_refuses_their_edits_anyway() => browser.RunAsync(nameof(A_readonly_user_sees_no_edit_controls_and_the_server_refuses_their_edits_anyway), async (_, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-readonly");
        var clientId = await account.Api.CreateIdAsync("clients", new { name = "Read Only Client", status = "active" });
        await Browser.SignInAsync(page, Host(account.Slug), await UserAsync(account, "readonly"), Password);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Read Only Client" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "New client" })).ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Link, new() { Name = "Read Only Client" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Read Only Client");
        await Assertions.Expect(page.Locator("main form")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Edit client" })).ToHaveCountAsync(0);
        await Browser.AssertAccessibleAsync(page);

        // The edit form's address typed in, and a form post made by hand: the API's 403, as a page.
        var edit = await page.GotoAsync(Host(account.Slug, $"/clients/{clientId}/edit"));
        Assert.Equal(200, edit!.Status);
        await page.GetByLabel("Phone").FillAsync("0000 readonly");
        var post = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync(), r => r.Request.Method == "POST");
        Assert.Equal(403, post.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("role readonly may not write clients");
        var unchanged = await account.Api.GetJsonAsync($"/api/clients/{clientId}");
        Assert.DoesNotContain(unchanged.EnumerateObject(), property => property.Name == "phone");
        Assert.Equal(1, unchanged.GetProperty("tracking").GetProperty("version").GetInt32());
        // A script on the page calling the API with the session: refused too.
        var direct = await page.EvaluateAsync<int>("() => fetch('/api/clients', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Sneaky', status: 'active' }) }).then(r => r.status)");
        Assert.Equal(403, direct);
        Assert.Single(await account.Api.ListIdsAsync("clients"));
    });

    [Fact]
    public Task The_owner_adds_a_user_who_can_then_sign_in_and_makes_a_group() => browser.RunAsync(nameof(The_owner_adds_a_user_who_can_then_sign_in_and_makes_a_group), async (context, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-users");
        await Browser.SignInAsync(page, Host(account.Slug), await UserAsync(account), Password);
        await page.GetByRole(AriaRole.Link, new() { Name = "Users and groups" }).ClickAsync();
        await Browser.AssertAccessibleAsync(page);
        var add = page.Locator("form[action='/users']");
        var email = $"new-{Guid.NewGuid():N}@example.com";
        await add.GetByLabel("Name").FillAsync("Nina New");
        await add.GetByLabel("E-mail").FillAsync(email);
        await add.GetByLabel("Role").SelectOptionAsync("staff");
        await add.GetByLabel("First password (12 characters or more)").FillAsync(Password);
        await add.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        await Assertions.Expect(page.Locator("table tbody tr", new() { HasText = "Nina New" })).ToContainTextAsync(email);

        var group = page.Locator("form[action='/groups']");
        await group.GetByLabel("Name").FillAsync("Pensions team");
        await group.GetByRole(AriaRole.Button, new() { Name = "Make group" }).ClickAsync();
        var team = page.Locator("article", new() { HasText = "Pensions team" });
        await Assertions.Expect(team.Locator("p")).ToHaveTextAsync("No members.");
        await team.GetByLabel("Member", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "Nina New" });
        await team.GetByRole(AriaRole.Button, new() { Name = "Add member" }).ClickAsync();
        await Assertions.Expect(page.Locator("article", new() { HasText = "Pensions team" }).Locator("p")).ToHaveTextAsync("Nina New");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Browser.SignInAsync(page, Host(account.Slug), email, Password);
        await Assertions.Expect(page.GetByText("Signed in as")).ToContainTextAsync("Nina New");
        // Staff do not manage users: no link, and the page itself refuses.
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Users and groups" })).ToHaveCountAsync(0);
        var refused = await page.GotoAsync(Host(account.Slug, "/users"));
        Assert.Equal(403, refused!.Status);
    });

    [Fact]
    public Task Another_tenants_document_address_in_a_session_gets_nothing_and_errors_are_pages() => browser.RunAsync(nameof(Another_tenants_document_address_in_a_session_gets_nothing_and_errors_are_pages), async (context, page) =>
    {
        await using var mine = await TemporaryAccount.CreateAsync(harness, "web-mine");
        await using var theirs = await TemporaryAccount.CreateAsync(harness, "web-theirs");
        var theirClient = await theirs.Api.CreateIdAsync("clients", new { name = "Their Client", status = "active" });
        var secret = "their confidential statement"u8.ToArray();
        string theirDocument;
        using (var content = new ByteArrayContent(secret))
        {
            content.Headers.ContentType = new("text/plain");
            using var uploaded = await theirs.Api.SendAsync(HttpMethod.Post, $"/api/documents?name=secret.txt&clientId={theirClient}", content: content);
            theirDocument = (await AccountApi.ReadAsync(uploaded, HttpStatusCode.Created)).GetProperty("id").GetString()!;
        }
        await Browser.SignInAsync(page, Host(mine.Slug), await UserAsync(mine), Password);

        // Their document's address on my host: my account has no such document — a page, not their bytes.
        var pasted = await page.GotoAsync(Host(mine.Slug, $"/api/documents/{theirDocument}/content"));
        Assert.Equal(404, pasted!.Status);
        Assert.StartsWith("text/html", pasted.Headers["content-type"], StringComparison.Ordinal);
        Assert.DoesNotContain("confidential", await page.ContentAsync(), StringComparison.Ordinal);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync("Not found");
        await Browser.AssertAccessibleAsync(page);
        // Their client's page on my host: not found either.
        var theirPage = await page.GotoAsync(Host(mine.Slug, $"/clients/{theirClient}"));
        Assert.Equal(404, theirPage!.Status);
        // On their host my session is not sent at all: their sign-in form.
        await page.GotoAsync(Host(theirs.Slug, $"/api/documents/{theirDocument}/content"));
        Assert.EndsWith("/sign-in", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading)).ToHaveTextAsync($"Sign in to {theirs.Slug}");
        // A page that does not exist: a page too.
        var missing = await page.GotoAsync(Host(mine.Slug, "/no-such-page"));
        Assert.Equal(404, missing!.Status);
        Assert.StartsWith("text/html", missing.Headers["content-type"], StringComparison.Ordinal);
    });

    [Fact]
    public Task On_a_phone_by_keyboard_alone_each_page_is_one_response_that_fits_the_screen() => browser.RunAsync(nameof(On_a_phone_by_keyboard_alone_each_page_is_one_response_that_fits_the_screen), async (_, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-phone");
        var name = "Maximilian Fotheringham-Featherstonehaugh";
        var clientId = await account.Api.CreateIdAsync("clients", new { name, status = "active", email = "maximilian.fotheringham-featherstonehaugh@example.com" });
        var email = await UserAsync(account);
        await page.SetViewportSizeAsync(375, 740);
        var fetched = new List<string>();
        page.Request += (_, request) => fetched.Add($"{request.ResourceType} {request.Url}");

        // Signed in, and to the client's page, with the keyboard only.
        await page.GotoAsync(Host(account.Slug, "/sign-in"));
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync(email);
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync(Password);
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByText("Signed in as")).ToBeVisibleAsync();
        for (var presses = 0; await page.EvaluateAsync<string>("() => document.activeElement?.textContent ?? ''") != name; presses++)
        {
            Assert.True(presses < 40, "the client's link is not reachable with Tab");
            await page.Keyboard.PressAsync("Tab");
        }
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(name);

        // Every page is one response (no stylesheet, script or font to fetch) and fits a phone.
        foreach (var path in new[] { "/", $"/clients/{clientId}", $"/clients/{clientId}/edit", "/users", "/clients/new" })
        {
            Assert.Equal(200, (await page.GotoAsync(Host(account.Slug, path)))!.Status);
            var (content, screen) = (await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth"), await page.EvaluateAsync<int>("() => window.innerWidth"));
            Assert.True(content <= screen, $"{path} is {content} px wide on a {screen} px screen");
        }
        Assert.NotEmpty(fetched);
        Assert.All(fetched, request => Assert.StartsWith("document ", request, StringComparison.Ordinal));
    });

    [Fact]
    public Task Each_record_on_a_clients_page_is_edited_in_place_and_a_conflict_on_any_says_so() => browser.RunAsync(nameof(Each_record_on_a_clients_page_is_edited_in_place_and_a_conflict_on_any_says_so), async (_, page) =>
    {
        await using var account = await TemporaryAccount.CreateAsync(harness, "web-records");
        var clientId = await account.Api.CreateIdAsync("clients", new { name = "Edith Edits", status = "active" });
        var dependantId = await account.Api.CreateIdAsync("dependants", new { clientId, name = "Eddie", relationship = "child" });
        var caseId = await account.Api.CreateIdAsync("cases", new { clientId, title = "ISA review", openedAt = "2026-11-01" });
        var taskId = await account.Api.CreateIdAsync("case-tasks", new { caseId, title = "Call provider", dueDate = "2026-12-10" });
        var contactId = await account.Api.CreateIdAsync("contact-individuals", new { firstName = "Pat", lastName = "Paralegal" });
        await account.Api.CreateIdAsync("client-contacts", new { clientId, contactKind = "individual", contactId, relationship = "solicitor" });
        await Browser.SignInAsync(page, Host(account.Slug), await UserAsync(account), Password);
        await page.GotoAsync(Host(account.Slug, $"/clients/{clientId}"));

        await page.GetByRole(AriaRole.Link, new() { Name = "Edit Eddie" }).ClickAsync();
        await Browser.AssertAccessibleAsync(page);
        await page.GetByLabel("Name").FillAsync("Edward");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator("#dependants li")).ToContainTextAsync("Edward (child)");
        Assert.EndsWith($"/clients/{clientId}", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);

        await page.GetByRole(AriaRole.Link, new() { Name = "Edit case ISA review" }).ClickAsync();
        await page.GetByLabel("Status").SelectOptionAsync("pending");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator($"#case-{caseId}")).ToContainTextAsync("pending · normal priority");

        await page.GetByRole(AriaRole.Link, new() { Name = "Edit Pat Paralegal" }).ClickAsync();
        await page.GetByLabel("E-mail").FillAsync("pat@example.com");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator("#contacts li")).ToContainTextAsync("pat@example.com");

        // A task changed by someone else while open here: the same conflict page as a client's.
        await page.GetByRole(AriaRole.Link, new() { Name = "Edit task Call provider" }).ClickAsync();
        await page.GetByLabel("Status").SelectOptionAsync("done");
        using (var theirs = await account.Api.SendAsync(HttpMethod.Patch, $"/api/case-tasks/{taskId}", new { dueDate = "2026-12-20" }, ifMatch: "\"1\""))
        {
            Assert.Equal(HttpStatusCode.OK, theirs.StatusCode);
        }
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Someone else changed this task while you were editing");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("2026-12-20");
        await Assertions.Expect(page.GetByLabel("Status")).ToHaveValueAsync("done");
        await Browser.AssertAccessibleAsync(page);
        Assert.Equal("todo", (await account.Api.GetJsonAsync($"/api/case-tasks/{taskId}")).GetProperty("status").GetString());

        // A page's way back is a client's page of this app, never another address.
        await page.GotoAsync(Host(account.Slug, $"/edit/dependants/{dependantId}?back=https://elsewhere.example/"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        Assert.Equal(Host(account.Slug), page.Url);
    });
}
