//! Tests of the predictor: each algorithm against hand-worked kernel
//! decisions.

mod algorithms {
    use super::super::*;

    fn dests(weights: &[u32]) -> Vec<Dest> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Dest { name: format!("d{i}"), weight, active: 0, inactive: 0 })
            .collect()
    }

    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

    fn run(p: &mut Predictor, n: usize) -> Vec<usize> {
        (0..n).map(|_| p.next(CLIENT).unwrap()).collect()
    }

    #[test]
    fn rr_walks_the_kernels_list_from_the_newest() {
        let mut p = Predictor::new(Algo::Rr, dests(&[1, 5, 0, 2]), VIP, None);
        assert_eq!(run(&mut p, 7), [0, 1, 3, 0, 1, 3, 0], "weight 0 skipped, weights ignored");
    }

    #[test]
    fn wrr_steps_the_current_weight_by_the_gcd() {
        // The tutorial as the kernel lists it: rs2 (weight 2) then rs1 (weight 3),
        // added rs1 first: the current weight starts at 1, so rs2 comes first.
        let mut p = Predictor::new(Algo::Wrr, dests(&[2, 3]), VIP, None);
        assert_eq!(run(&mut p, 10), [0, 1, 1, 0, 1, 0, 1, 1, 0, 1]);
        // gcd 2: weights 4 and 2 step 3, 1 — the same split as 2 : 1.
        let mut p = Predictor::new(Algo::Wrr, dests(&[4, 2]), VIP, None);
        let got = run(&mut p, 30);
        assert_eq!(got.iter().filter(|&&d| d == 0).count(), 20, "{got:?}");
        // The tour's 1, 2, 3 (listed newest first: 3, 2, 1): 30 / 20 / 10 of 60.
        let mut p = Predictor::new(Algo::Wrr, dests(&[3, 2, 1]), VIP, None);
        let got = run(&mut p, 60);
        assert_eq!([0, 1, 2].map(|d| got.iter().filter(|&&g| g == d).count()), [30, 20, 10]);
    }

    #[test]
    fn wrr_starts_where_adding_the_destinations_left_it() {
        // The clients preset: rs1 (weight 3) added, then rs2 (weight 1); the
        // kernel lists rs2 first. Adding rs1 alone leaves the current weight
        // at 1 (max 3 minus gcd 3 plus 1); adding rs2 keeps it, so rs2 comes first.
        let mut p = Predictor::new(Algo::Wrr, dests(&[1, 3]), VIP, None);
        assert_eq!(run(&mut p, 6), [0, 1, 1, 1, 0, 1]);
        let first_50 = run(&mut Predictor::new(Algo::Wrr, dests(&[1, 3]), VIP, None), 50);
        assert_eq!(first_50.iter().filter(|&&d| d == 1).count(), 37, "37 / 13, as seen in the VM");
    }

    #[test]
    fn sync_finds_rr_and_wrr_positions_from_the_first_answers() {
        let mut kernel = Predictor::new(Algo::Wrr, dests(&[2, 3, 1]), VIP, None);
        run(&mut kernel, 4); // traffic we did not see
        let seen = run(&mut kernel, 12);
        let mut p = Predictor::new(Algo::Wrr, dests(&[2, 3, 1]), VIP, None);
        let observed: Vec<_> = seen.iter().map(|&d| (CLIENT, d)).collect();
        assert_eq!(p.sync(&observed), 12);
        assert_eq!(run(&mut p, 50), run(&mut kernel, 50));

        let mut kernel = Predictor::new(Algo::Rr, dests(&[1, 1, 1]), VIP, None);
        run(&mut kernel, 2);
        let mut p = Predictor::new(Algo::Rr, dests(&[1, 1, 1]), VIP, None);
        let observed: Vec<_> = run(&mut kernel, 3).into_iter().map(|d| (CLIENT, d)).collect();
        p.sync(&observed);
        assert_eq!(run(&mut p, 9), run(&mut kernel, 9));
    }

    #[test]
    fn sh_hashes_the_client_into_weighted_buckets() {
        // hash_32: (addr + port) * 0x61C88647, top 8 bits.
        let key = |a: u32| (a.wrapping_mul(0x61C8_8647) >> 24) as usize;
        assert_eq!(Predictor::bucket(CLIENT, 0), key(u32::from(CLIENT)));
        let p = Predictor::new(Algo::Sh, dests(&[3, 1]), VIP, None);
        let first: Vec<_> = p.buckets[..8].iter().map(|b| b.unwrap()).collect();
        assert_eq!(
            first,
            [0, 0, 0, 1, 0, 0, 0, 1],
            "weight 3 fills three buckets, then weight 1 one"
        );
        let mut p = p;
        let a = p.next(CLIENT);
        assert!((0..20).all(|_| p.next(CLIENT) == a), "one client, one server");
        // 50 clients spread about 3 : 1.
        let spread =
            (100..150u8).filter(|&i| p.next(Ipv4Addr::new(192, 0, 2, i)) == Some(0)).count();
        assert!((30..=45).contains(&spread), "{spread}");
    }

    #[test]
    fn dh_hashes_the_destination_address() {
        let mut p = Predictor::new(Algo::Dh, dests(&[1, 1, 1]), VIP, None);
        let expected = Predictor::bucket(VIP, 0) % 3;
        assert!((0..10).all(|i| p.next(Ipv4Addr::new(192, 0, 2, 10 + i)) == Some(expected)));
    }

    #[test]
    fn least_connection_family_counts_and_ties_go_to_the_newest() {
        let mut d = dests(&[1, 3]);
        d[0].active = 1;
        d[1].active = 1;
        // lc ignores weights: equal overhead, the first listed (newest) wins.
        assert_eq!(Predictor::new(Algo::Lc, d.clone(), VIP, None).next(CLIENT), Some(0));
        // wlc: 256/1 > 256/3, so the weight-3 server.
        assert_eq!(Predictor::new(Algo::Wlc, d.clone(), VIP, None).next(CLIENT), Some(1));
        // sed: (1+1)/1 > (1+1)/3.
        assert_eq!(Predictor::new(Algo::Sed, d.clone(), VIP, None).next(CLIENT), Some(1));
        // nq: an idle server first, whatever its weight.
        d[0].active = 0;
        d[1].active = 0;
        assert_eq!(Predictor::new(Algo::Nq, d.clone(), VIP, None).next(CLIENT), Some(0));
        // sed with both idle: 1*3 > 1*1, the weight-3 server.
        assert_eq!(Predictor::new(Algo::Sed, d, VIP, None).next(CLIENT), Some(1));
        // lc counts the new connection (inactive until established).
        let mut p = Predictor::new(Algo::Lc, dests(&[1, 1]), VIP, None);
        assert_eq!(run(&mut p, 4), [0, 1, 0, 1]);
    }

    #[test]
    fn persistence_keeps_a_client_where_its_template_points() {
        let templates = HashMap::from([(u32::from(CLIENT), 1)]);
        let persistence = Persistence { netmask: u32::MAX, templates };
        let mut p = Predictor::new(Algo::Wrr, dests(&[1, 1]), VIP, Some(persistence));
        assert_eq!(run(&mut p, 5), [1, 1, 1, 1, 1], "the template wins");
        let other = Ipv4Addr::new(192, 0, 2, 3);
        let first = p.next(other);
        assert!((0..5).all(|_| p.next(other) == first), "a new client gets a template");
    }

    #[test]
    fn schedulers_without_a_model_say_why() {
        assert!(Algo::of(Scheduler::Mh).unwrap_err().contains("random per boot"));
        assert!(Algo::of(Scheduler::Lblc).is_err());
        assert_eq!(Algo::of(Scheduler::Wrr), Ok(Algo::Wrr));
    }
}

#[test]
fn only_ipvs_is_predicted_nftables_says_why_not() {
    use crate::lab::model::Dataplane;
    assert_eq!(super::on_dataplane(Dataplane::Ipvs), Ok(()));
    let why = super::on_dataplane(Dataplane::Nft).unwrap_err();
    assert!(why.contains("nftables") && why.contains("numgen"), "{why}");
    assert!(super::on_dataplane(Dataplane::None).is_err());
}
