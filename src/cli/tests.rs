//! The command line's own rules, as a user meets them.

use clap::{CommandFactory, Parser};

use super::{Cli, Command};

fn serve(extra: &[&str]) -> Result<Command, clap::Error> {
    let args = ["lvslab", "serve", "--netns", "n", "--name", "rs1", "--listen", "127.0.0.1:80"];
    Cli::try_parse_from(args.iter().chain(extra)).map(|cli| cli.command.unwrap())
}

#[test]
fn serve_caps_connections_and_closes_idle_ones_by_default_and_says_so() {
    let Command::Serve { max_connections, idle_timeout, .. } = serve(&[]).unwrap() else {
        panic!("serve")
    };
    assert_eq!(max_connections, lvslab_traffic::server::DEFAULT_MAX_CONNECTIONS);
    assert_eq!(idle_timeout, lvslab_traffic::server::DEFAULT_IDLE_TIMEOUT);
    let Command::Serve { max_connections, idle_timeout, .. } =
        serve(&["--max-connections", "10", "--idle-timeout", "500ms"]).unwrap()
    else {
        panic!("serve")
    };
    assert_eq!((max_connections, idle_timeout.as_millis()), (10, 500));
    let refused = serve(&["--max-connections", "0"]).unwrap_err().to_string();
    assert!(refused.contains("max connections 0 is out of range"), "{refused}");
    assert!(serve(&["--idle-timeout", "0s"]).is_err());

    let mut cli = Cli::command();
    let help = cli.find_subcommand_mut("serve").unwrap().render_long_help().to_string();
    assert!(help.contains("--max-connections <N>") && help.contains("[default: 4096]"), "{help}");
    assert!(
        help.contains("--idle-timeout <DURATION>") && help.contains("[default: 60s]"),
        "{help}"
    );
}
