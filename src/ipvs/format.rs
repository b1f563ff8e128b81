pub fn addr_port(a: std::net::IpAddr, p: u16) -> String {
    match a {
        std::net::IpAddr::V4(a) => format!("{a}:{p}"),
        std::net::IpAddr::V6(a) => format!("[{a}]:{p}"),
    }
}
